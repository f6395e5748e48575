"""The read path: authorize, plan which rollups to read, read them, fill the series."""
