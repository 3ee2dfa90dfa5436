"""The creative pipeline (brief -> search -> align -> generate-if-needed -> copy -> safety).

Not built yet; it will call ``search`` first and only generate when nothing in the library fits.
"""
