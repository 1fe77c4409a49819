"""citypulse: live e-government KPIs for a Smart City Monitoring and Control Centre (IOC)."""

__version__ = "0.1.0"
