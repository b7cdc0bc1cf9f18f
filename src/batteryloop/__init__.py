"""batteryloop: an open platform for the circular economy of electric-vehicle batteries."""

__version__ = "0.1.0"
