"""``mlvigil demo``: the whole loop on a compressed clock, in one command."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlvigil.cli.errors import exit_on_user_error

if TYPE_CHECKING:
    from mlvigil.demo.credit import CreditModel
    from mlvigil.demo.oncall import OnCall

WINDOW = timedelta(minutes=5)
LABEL_DELAY = timedelta(minutes=10)


def demo(
    port: Annotated[int, typer.Option(help="Port of the service on 127.0.0.1.")] = 8000,
    duration: Annotated[
        float | None,
        typer.Option(help="Stop after this many seconds [default: run until Ctrl-C]."),
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second.", min=1.0)
    ] = 60.0,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Where to keep the config and store [default: a temp dir]."),
    ] = None,
) -> None:
    """Run the service with a simulated credit-risk model in production.

    A scikit-learn model scores synthetic applicants through the SDK's prediction
    logger; labels follow ten simulated minutes later. At 60x, every 5-minute window
    closes each 5 seconds, and the traffic changes: incomes fall after 30 s (drift), a
    pipeline bug blanks a column after 60 s (quality), defaults rise after 90 s
    (accuracy drops once labels arrive, and a retraining run is triggered), the pipeline
    is fixed after 120 s, and after 150 s version 2 goes out as a canary on 40% of the
    traffic: slower and less accurate, its canary verdict fails and the service's
    rollback command takes it out. Alerts are routed to a local on-call stand-in that
    prints each page and silences the first data-quality one for a while.
    """
    with exit_on_user_error():
        import numpy as np

        from mlvigil.checks.performance import classification_metrics
        from mlvigil.demo.credit import CreditModel, applicants, decisions, default_probability
        from mlvigil.demo.example import reference_table, write_example
        from mlvigil.demo.oncall import OnCall

        typer.echo("training the demo models on synthetic applicants...", err=True)
        model = CreditModel()
        canary = CreditModel(rows=300, seed=8)  # version 2: trained on far too few rows
        # The reference is applicants the model has not seen, as a validation set is: on
        # its training rows a model scores better than it ever will in production, and
        # limits learned from them would flag healthy traffic.
        rng = np.random.default_rng(99)
        holdout = applicants(5_000, rng)
        truth = (rng.random(5_000) < default_probability(holdout)).astype(int)
        probability = model.default_chance(holdout)
        predicted, score = decisions(probability)
        reference = reference_table(holdout, predicted, score, truth)
        baseline = classification_metrics(truth, predicted, y_score=probability)
        folder = directory or Path(tempfile.mkdtemp(prefix="mlvigil-demo-"))
        on_call = OnCall(typer.echo)
        config_path = write_example(
            folder,
            reference=reference,
            baseline=(baseline["accuracy"], baseline["roc_auc"]),
            window="5m",
            label_delay="10m",
            lateness="30s",
            evaluation_interval="1",
            oncall_url=on_call.url,
            open_reads=True,  # the dashboard and the links below open without a token
            overwrite=True,
        )
        try:
            models = (model, canary)
            _run(config_path, models, on_call, port=port, duration=duration, speed=speed)
        finally:
            on_call.close()


def _run(
    config_path: Path,
    models: tuple[CreditModel, CreditModel],
    on_call: OnCall,
    *,
    port: int,
    duration: float | None,
    speed: float,
) -> None:
    import uvicorn

    from mlvigil.demo.example import MODEL
    from mlvigil.demo.report import WindowReporter
    from mlvigil.demo.simulation import SimulatedClock, Simulation, aligned_start
    from mlvigil.service.app import create_app
    from mlvigil.service.config import load_service_config
    from mlvigil.service.monitor import MonitoringService
    from mlvigil.telemetry.prediction_log import PredictionLogger

    settings = load_service_config(config_path)
    logging.getLogger("mlvigil.service").setLevel(logging.ERROR)  # the reporter tells
    clock = SimulatedClock(aligned_start(WINDOW), speed)
    service = MonitoringService(settings, clock=clock.now)
    on_call.service = service
    app = create_app(service)
    url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None)
    )
    folder = config_path.parent
    sdk_token = (folder / "sdk.token").read_text().strip()
    logger = PredictionLogger.to_service(url, token=sdk_token, flush_interval=0.5, batch_size=500)
    deployment = folder / "deployment.json"  # the rollback command writes it
    deployment.unlink(missing_ok=True)
    stable, canary = models
    simulation = Simulation(
        logger, stable, clock, canary=canary, deployment=deployment, label_delay=LABEL_DELAY
    )
    stop = threading.Event()
    dashboard = f"{url}/#/models/{MODEL}"

    def traffic() -> None:
        while not server.started and not stop.is_set():
            time.sleep(0.05)
        simulation.run(stop)

    def report() -> None:
        reporter = WindowReporter(service, simulation, dashboard)
        deadline = None if duration is None else time.monotonic() + duration
        while not stop.wait(1.0):
            reporter.print_new_windows()
            if deadline is not None and time.monotonic() >= deadline:
                stop.set()  # traffic stops; what was logged reaches the service first
                logger.flush(timeout=10)
                server.should_exit = True

    typer.echo(
        f"\nmlvigil demo: a credit-risk model in production, time running {speed:g}x\n"
        f"  dashboard  {dashboard}\n"
        f"  API        {url}/docs\n"
        f"  results    {url}/api/v1/models/{MODEL}/results\n"
        f"  metrics    {url}/metrics\n"
        f"  alerts     {url}/api/v1/alerts  (or: mlvigil alerts list --url {url})\n"
        f"  config     {config_path}\n"
        f"  tokens     reads are open; the traffic sends {folder / 'sdk.token'}; silences "
        f"need {folder / 'on-call.token'}:\n"
        f"             MLVIGIL_TOKEN=$(cat {folder / 'on-call.token'}) mlvigil silence add "
        f"-m model={MODEL} --comment test --url {url}\n"
        f"  report     {url}/api/v1/models/{MODEL}/report  (latest window, as HTML)\n"
        f"  (Ctrl-C to stop)\n"
    )
    threads = [threading.Thread(target=t, daemon=True) for t in (traffic, report)]
    for thread in threads:
        thread.start()
    try:
        server.run()
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        logger.close(timeout=5)
        service.close()
