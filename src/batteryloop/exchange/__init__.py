"""batteryloop.exchange"""
