"""The command line: parse arguments, call the library, turn errors into exit codes. No logic.

Each command imports what it runs inside its function, on purpose: `segmint` starts, and
answers a bad argument, without loading DuckDB, scikit-learn or the report's libraries.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from pathlib import Path

import click

from segmint.errors import SegmintError, UsageError
from segmint.settings import (
    CLV_MODELS,
    ENGINES,
    FEATURE_SETS,
    MAX_SEED,
    SELECTION_METRICS,
    TRANSFORMS,
    Settings,
    parse_column_overrides,
    parse_spark_conf,
)

DEFAULTS = Settings()  # every default, written once (segmint.model.defaults, settings)


class OutFolder(click.Path):
    """--out: a folder path, not empty (an empty one would be the current folder)."""

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        if isinstance(value, str) and not value.strip():
            self.fail("give the name of a folder", param, ctx)
        return super().convert(value, param, ctx)


OUT_FOLDER = OutFolder(path_type=Path)


def reading_options(command: Callable) -> Callable:
    """Add the options that say how to read the log: --column, --date-format, --keep-duplicates."""
    for option in reversed(
        (
            click.option(
                "--column", multiple=True, metavar="ROLE=NAME", help="Use column NAME for ROLE."
            ),  # fmt: skip
            click.option(
                "--date-format", help="strftime codes of the date column, e.g. '%d/%m/%Y %H:%M'."
            ),  # fmt: skip
            click.option("--keep-duplicates", is_flag=True, help="Keep exact duplicate rows."),
        )
    ):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="segmint")
def app() -> None:
    """Customer segments from a raw transaction log."""


@app.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", required=True, type=OUT_FOLDER, help="Output folder.")
@click.option("--customers", help="Customer attributes file, joined on customer_id.")
@click.option("--products", help="Products file, joined on product_id; gives category.")
@reading_options
@click.option("--as-of", help="Reference date YYYY-MM-DD; later lines are dropped.")
@click.option(
    "--feature-set",
    type=click.Choice(FEATURE_SETS),
    default=DEFAULTS.feature_set,
    show_default=True,
)
@click.option("--k", type=int, help="Fix the number of segments.")
@click.option("--k-min", type=int, default=DEFAULTS.k_min, show_default=True)
@click.option("--k-max", type=int, default=DEFAULTS.k_max, show_default=True)
@click.option(
    "--select",
    type=click.Choice(SELECTION_METRICS),
    default=DEFAULTS.select,
    show_default=True,
    help="stable: the best Davies-Bouldin among the k whose segments are all stable.",
)
@click.option(
    "--min-stability",
    type=float,
    default=DEFAULTS.min_stability,
    show_default=True,
    help="Mean bootstrap Jaccard similarity a stable segment reaches (0 to 1).",
)
@click.option(
    "--min-segment-share",
    type=float,
    default=DEFAULTS.min_segment_share,
    show_default=True,
    help="Every segment of an eligible k holds at least this share of the customers...",
)
@click.option(
    "--min-segment-size",
    type=int,
    default=DEFAULTS.min_segment_size,
    show_default=True,
    help="...and at least this many customers.",
)
@click.option(
    "--transform",
    type=click.Choice(TRANSFORMS),
    default=DEFAULTS.transform,
    show_default=True,
    help="auto: log1p for days, counts and money; none: raw values.",
)
@click.option(
    "--seed",
    type=int,
    default=DEFAULTS.seed,
    show_default=True,
    help=f"Seed of every random choice (0 to {MAX_SEED}); the same seed, the same outputs.",
)
@click.option(
    "--sample-size",
    type=int,
    default=DEFAULTS.sample_size,
    show_default=True,
    help="Customers on which K-means starts run (seeded sample); the best is refined on all.",
)
@click.option(
    "--memory-limit", help="DuckDB memory limit, e.g. 2GB; beyond it DuckDB spills to disk."
)
@click.option("--threads", type=int, help="DuckDB threads (default: one per core).")
@click.option(
    "--previous",
    type=click.Path(),
    help="An earlier run's output folder: segments that persist keep its ids and names.",
)
@click.option(
    "--clv/--no-clv",
    default=None,
    help="Customer lifetime value (an order model + Gamma-Gamma); default: on when at least "
    "20 customers have repeat orders.",
)
@click.option("--clv-horizon-days", type=int, default=DEFAULTS.clv_horizon_days, show_default=True)
@click.option(
    "--clv-model",
    type=click.Choice(CLV_MODELS),
    default=DEFAULTS.clv_model,
    show_default=True,
    help="Order model of the CLV: auto is Pareto/NBD (MBG/NBD when that fit runs to the "
    "edge of its range and MBG/NBD's does not).",
)
@click.option(
    "--rules-depth",
    type=int,
    help="Depth of the CRM rules' tree (default: the smallest of 2-5 reaching 90% fidelity).",
)
@click.option("--discount-rate", type=float, help="Annual discount rate of the CLV, e.g. 0.1.")
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="duckdb",
    show_default=True,
    help="spark: every stage on Apache Spark (extra segmint[spark]); inputs may be spark:TABLE.",
)
@click.option(
    "--master",
    help="Spark master URL (--engine spark); default: spark-submit's, else local[*].",
)
@click.option(
    "--spark-conf",
    multiple=True,
    metavar="KEY=VALUE",
    help="A Spark configuration setting (--engine spark); repeat for more.",
)
@click.option("--quiet", is_flag=True, help="No progress output.")
def run(
    inputs: tuple[str, ...],
    out: Path,
    column: tuple[str, ...],
    quiet: bool,
    engine: str,
    master: str | None,
    spark_conf: tuple[str, ...],
    **options: object,
) -> None:
    """Segment the customers of a transaction log (CSV, TSV, .gz, Parquet, .xlsx,
    duckdb:PATH::TABLE, or spark:TABLE with --engine spark) and write the outputs to --out."""
    from segmint.io.outputs import check_output_dir

    check_output_dir(out, [*inputs, options["customers"], options["products"],
                           options["previous"]])  # fmt: skip
    options["customers_file"] = options.pop("customers")
    options["products_file"] = options.pop("products")
    settings = {"columns": parse_column_overrides(list(column)), **options}
    if engine == "spark":
        _run_on_spark(list(inputs), out, quiet, settings, master, parse_spark_conf(spark_conf))
    elif master or spark_conf:
        raise UsageError("--master and --spark-conf apply to --engine spark only")
    else:
        _run_and_write(list(inputs), out, quiet, settings)


@app.command()
@click.argument("old_dir", type=click.Path(path_type=Path))
@click.argument("new_dir", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=OUT_FOLDER, help="Output folder.")
@click.option("--quiet", is_flag=True, help="No summary line.")
def compare(old_dir: Path, new_dir: Path, out: Path, quiet: bool) -> None:
    """Compare two runs' output folders: who moved between segments (migration.csv,
    compare.json, compare.html)."""
    from segmint.io.outputs import check_output_dir
    from segmint.lifecycle.compare import compare as run_compare
    from segmint.writing.compare import write_comparison

    check_output_dir(out, [old_dir, new_dir])
    result = run_compare(old_dir, new_dir)
    write_comparison(result, out)
    if not quiet:
        people = result.summary["customers"]
        click.echo(
            f"{people['union']:,} customers ({people['both']:,} in both runs); outputs in {out}/",
            err=True,
        )


@app.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--model", "model_file", required=True, help="model.json of an earlier run.")
@click.option("--out", required=True, type=OUT_FOLDER, help="Output folder.")
@reading_options
@click.option("--as-of", help="Reference date YYYY-MM-DD (default: the new data's latest).")
@click.option("--quiet", is_flag=True, help="No progress output.")
def score(
    inputs: tuple[str, ...],
    model_file: str,
    out: Path,
    column: tuple[str, ...],
    quiet: bool,
    **options: object,
) -> None:
    """Assign the customers of new data to the segments of a saved model.json (no refit);
    writes segments.parquet, segments.csv and summary.json."""
    from segmint.io.outputs import check_output_dir
    from segmint.pipeline import score as run_score
    from segmint.progress import reporter

    check_output_dir(out, [*inputs, model_file])
    columns = parse_column_overrides(list(column))
    with reporter(quiet) as progress:
        result = run_score(list(inputs), model_file, progress=progress, columns=columns, **options)
        progress("Writing outputs")
        result.write(out)
    if not quiet:
        outside = result.summary["out_of_range"]["customers"]
        click.echo(
            f"{result.summary['totals']['customers']:,} customers scored into "
            f"{result.model.k_} segments ({outside:,} outside the training range); "
            f"outputs in {out}/",
            err=True,
        )


@app.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", required=True, type=OUT_FOLDER, help="Output folder.")
@click.option(
    "--holdout-days",
    type=int,
    required=True,
    help="Days at the end of the log to hide from the fits and predict.",
)
@reading_options
@click.option("--quiet", is_flag=True, help="No progress output.")
def validate(
    inputs: tuple[str, ...],
    out: Path,
    holdout_days: int,
    column: tuple[str, ...],
    quiet: bool,
    **options: object,
) -> None:
    """Compare the order models (Pareto/NBD, MBG/NBD, BG/NBD): fit each without the last
    --holdout-days days, predict each customer's orders in them, and compare with what they
    did, per customer and week by week (validation.html, validation.json, validation.csv)."""
    from segmint.clv.validation import validate as run_validation
    from segmint.io.outputs import check_output_dir
    from segmint.progress import reporter
    from segmint.writing.validation import write_validation

    check_output_dir(out, inputs)
    columns = parse_column_overrides(list(column))
    with reporter(quiet) as progress:
        result = run_validation(
            list(inputs), holdout_days, progress=progress, columns=columns, **options
        )
        progress("Writing the validation report")
        write_validation(result, out)
    if not quiet:
        summary = result.summary
        # validate raises unless some model was compared, so there is a best one.
        best = next(m for m in summary["models"] if m["name"] == summary["best_by_mae"])
        errors = best["errors"]
        click.echo(
            f"{summary['customers']:,} customers: {errors['total_actual']:,.0f} orders placed "
            f"in the holdout; best by MAE {best['name']} ({errors['mae']:.3f} per customer, "
            f"{errors['total_predicted']:,.1f} orders predicted); outputs in {out}/",
            err=True,
        )


@app.command()
@click.option("--out", type=OUT_FOLDER, default=Path("segmint-demo"), show_default=True)
@click.option("--quiet", is_flag=True, help="No progress output.")
def demo(out: Path, quiet: bool) -> None:
    """Run the whole pipeline on the sample data shipped with Segmint."""
    from segmint.datasets import demo_path
    from segmint.io.outputs import check_output_dir

    check_output_dir(out)
    _run_and_write([str(demo_path())], out, quiet, {})


@app.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 for every interface (use --token then).")  # fmt: skip
@click.option("--port", type=int, default=8000, show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("segmint-data"),
    show_default=True,
    help="Where uploads and runs are kept (one folder per run).",
)
@click.option("--max-upload-mb", type=float, default=500, show_default=True)
@click.option(
    "--token",
    envvar="SEGMINT_TOKEN",
    help="Require this access token (bearer header or login form); also $SEGMINT_TOKEN.",
)
@click.option("--workers", type=int, help="Runs at the same time (default: one per core).")
def serve(
    host: str, port: int, data_dir: Path, max_upload_mb: float, token: str | None,
    workers: int | None,
) -> None:  # fmt: skip
    """Start the web app: upload, check the columns, run, read the report, download."""
    try:
        import uvicorn

        from segmint.web import create_app
        from segmint.web.security import LOOPBACK_HOSTS
    except ImportError:
        raise UsageError("segmint serve needs the web extra: pip install 'segmint[web]'") from None
    if max_upload_mb <= 0:
        raise UsageError(f"--max-upload-mb {max_upload_mb:g}: must be above 0")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    if not 0 < port < 65536:
        raise UsageError(f"--port {port}: choose a port from 1 to 65535")
    if token is not None and len(token) < 8:
        raise UsageError("--token: use at least 8 characters")
    loopback = host in ("127.0.0.1", "localhost", "::1")
    application = create_app(
        data_dir, max_upload_mb, token, workers, allowed_hosts=LOOPBACK_HOSTS if loopback else None
    )
    if not loopback and token is None:
        click.echo(
            f"warning: listening on {host} without --token: anyone who can reach this port "
            "can upload and read runs",
            err=True,
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"Segmint on http://{shown}:{port}/ (data in {data_dir}/); Ctrl+C stops it", err=True
    )
    uvicorn.run(application, host=host, port=port, log_level="warning")


def _run_and_write(inputs: list[str], out: Path, quiet: bool, settings: dict) -> None:
    from segmint.progress import reporter
    from segmint.runs import run_to_folder

    with reporter(quiet) as progress:
        result = run_to_folder(inputs, out, progress=progress, **settings)
    if not quiet:
        totals, chosen = result.summary["totals"], result.summary["selection"]["chosen_k"]
        click.echo(
            f"{totals['customers']:,} customers in {chosen} segments; outputs in {out}/", err=True
        )


def _run_on_spark(
    inputs: list[str],
    out: Path,
    quiet: bool,
    settings: dict,
    master: str | None,
    conf: dict[str, str],
) -> None:
    from segmint.engines.spark import start_session
    from segmint.pipeline import segment_on_spark
    from segmint.progress import reporter

    with reporter(quiet) as progress:

        def spark() -> object:
            progress(f"Starting Spark ({master or 'default master'})")
            return start_session(master, conf)

        result = segment_on_spark(spark, inputs, progress=progress, **settings)
        progress("Writing outputs and the report")
        result.write(out)
    if not quiet:
        totals, chosen = result.summary["totals"], result.summary["selection"]["chosen_k"]
        click.echo(
            f"{totals['customers']:,} customers in {chosen} segments (Spark); outputs in {out}/",
            err=True,
        )


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return 0, 2 for a user's error (one line on stderr), 1 for a bug."""
    try:
        app.main(args=argv, prog_name="segmint", standalone_mode=False)
    except SegmintError as exc:
        return _fail(str(exc))
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help(), err=True)
        return 2
    except click.UsageError as exc:
        # A command line click cannot parse is bad input like any other: one line, which
        # says where the help is (click's own usage block would add three).
        message = exc.format_message().rstrip(".")
        if exc.ctx is not None:
            message += f" (see {exc.ctx.command_path} --help)"
        return _fail(message)
    except click.exceptions.Abort:
        return _fail("interrupted")
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return 0


def _fail(message: str) -> int:
    from segmint.runs import error_line

    print(error_line(message), file=sys.stderr)
    return 2


def entry() -> None:
    """The `segmint` command: main(), then exit with its status.

    The process ends here, so the collector's passes at interpreter exit would only free
    memory the OS takes back anyway: after a 10M-line run they took 0.5 s. gc.freeze()
    leaves them nothing to look at; buffers are still flushed and exit handlers still run.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    entry()
