"""batteryloop.web"""
