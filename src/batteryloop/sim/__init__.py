"""batteryloop.sim"""
