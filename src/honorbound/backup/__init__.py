"""Backups that cannot bring an erased person back.

`honorbound backup create` writes a consistent snapshot of the data database and of the key
store, each encrypted under a backup *epoch key* (`epochs.py`); `honorbound restore` decrypts
them, replays the erasure journal on the restored copy before anything can use it, and only
then moves the files into place (`archive.py`). Epoch keys are destroyed once every backup made
under them has passed the retention period, so after that no backup can be read at all.
"""
