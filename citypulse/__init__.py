"""citypulse: e-government KPIs from event streams for a Smart City Monitoring and Control Centre."""

__version__ = "0.1.0"
