"""batteryloop.store"""
