"""Speech audio: decoding references late, voice-activity detection and signal-quality features.

No store and no Prefect here: functions take references, arrays and transcripts and return arrays.
"""

from dprune.audio.decode import AudioDecodeError, AudioRef, decode_native, decode_refs, resample
from dprune.audio.signal import SIGNAL_COLUMNS, rate_deviation, signal_features
from dprune.audio.vad import SileroVAD, WebRtcVAD, make_vad

__all__ = [
    "AudioDecodeError",
    "AudioRef",
    "SIGNAL_COLUMNS",
    "SileroVAD",
    "WebRtcVAD",
    "decode_native",
    "decode_refs",
    "make_vad",
    "rate_deviation",
    "resample",
    "signal_features",
]
