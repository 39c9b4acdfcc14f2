"""What is reported about a pull secret: its status, its Events, and the dashboard's summary."""
