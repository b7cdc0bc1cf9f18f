"""batteryloop.api"""
