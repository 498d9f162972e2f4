"""What a run writes: its output folder (tables, summary, model, report, rules, audiences),
on this machine (`writing.run`) or from Spark (`writing.spark`), and a comparison of two runs
(`writing.compare`). Above the report and the rules, which it calls; the file helpers it
uses are `io.outputs`."""
