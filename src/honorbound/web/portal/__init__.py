"""The public privacy portal, one per organization under `/p/{slug}`. No sign-in."""
