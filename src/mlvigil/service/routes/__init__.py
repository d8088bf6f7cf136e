"""The service's routes, one router per area, each built by ``router(service, ...)``.

- :mod:`~mlvigil.service.routes.ingest`: predictions, labels, evaluating windows now;
- :mod:`~mlvigil.service.routes.results`: models, a model, its windows and results;
- :mod:`~mlvigil.service.routes.alerts`: alerts, their history, test notifications,
  silences;
- :mod:`~mlvigil.service.routes.dashboard`: the dashboard page, its assets and views;
- :mod:`~mlvigil.service.routes.reports`: the HTML report of a window;
- :mod:`~mlvigil.service.routes.slos`: SLOs, their budgets and burn rates;
- :mod:`~mlvigil.service.routes.versions`: a canary's verdict on demand;
- :mod:`~mlvigil.service.routes.health`: liveness, readiness and ``/metrics``.

Bodies are the models of :mod:`mlvigil.service.api_models`; errors are answered, and
documented, by :mod:`mlvigil.service.errors`.
"""
