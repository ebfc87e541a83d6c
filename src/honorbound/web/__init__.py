"""Server-rendered pages: the public privacy portal and the staff console."""
