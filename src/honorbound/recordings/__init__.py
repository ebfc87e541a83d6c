"""`honorbound.recordings`: call recordings, consent to record them, and redaction of their
audio. A domain package: it never imports the API, the web pages or the command line.

* `consent`  - may this call be recorded (one-party or all-party, from the rules data)
* `timings`  - word timings (read by `honorbound.detect.transcripts`) laid out for the detector
* `audio`    - WAV and FLAC read in blocks; MP3 and Opus decoded by ffmpeg
* `dtmf`     - keypad tones found by Goertzel power
* `redact`   - findings to time spans to tone or silence
* `store`    - the recording store (a local folder), sealed originals
* `ingest`   - one call in: redacted audio and transcript stored
"""
