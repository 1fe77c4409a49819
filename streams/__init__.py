"""The streaming worker, in layers; each imports only from the layers listed before it:

- ``kpi/``: the pure core (events in, KPIs out); no faust, kafka or prometheus_client;
- ``exposition/``: what the worker shows: its metrics, its health, the liveness rules;
- ``stages/``: the worker's two stages, their wire formats and batch protocol, without a
  framework;
- ``faust_adapter/``: Faust and Kafka around the stages; ``transport.py`` holds every use of
  Faust's and aiokafka's internals and refuses a version it was not written for.
"""
