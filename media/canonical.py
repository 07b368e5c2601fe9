"""The studio's canonical 9:16 output format, defined in one place.

Every rendered variant and every normalised source uses exactly these parameters, so that a segment
re-encoded later (a hook window) has the same SPS/PPS as the stream-copied segments around it and the
two can be joined without re-encoding the rest (issue 7). Change anything here and bump
:data:`CANONICAL_VERSION`: cached normalised copies are keyed on it.

- Video: H.264 High profile, yuv420p, 1080x1920 (9:16 portrait), 30 frames/s constant frame rate,
  closed GOP with a fixed keyframe interval of :data:`GOP_FRAMES` frames (1 s), scene-cut detection off,
  x264 ``stitchable=1`` (x264's own option "don't optimize header parameters based on video content,
  ensure ability to recombine a segmented encode"), BT.709 colour tags, CRF/preset from the settings
  ``output_crf``/``output_preset`` (env ``NOVAI_OUTPUT_CRF``/``NOVAI_OUTPUT_PRESET``).
- Audio: AAC-LC, 48 kHz, stereo, :data:`AUDIO_BITRATE`.
"""

from __future__ import annotations

from dataclasses import dataclass

from media.settings import get_settings

CANONICAL_VERSION = "c2"
WIDTH = 1080
HEIGHT = 1920
FPS = 30
GOP_FRAMES = 30
GOP_S = GOP_FRAMES / FPS
PIX_FMT = "yuv420p"
PROFILE = "high"
AUDIO_RATE = 48_000
AUDIO_CHANNELS = 2
AUDIO_BITRATE = "128k"


@dataclass(frozen=True)
class VideoCodec:
    """x264 rate control of the canonical format: CRF (0-51, lower = better) and preset name."""

    crf: int
    preset: str
    x264: str = ""  # when set: the x264 options of a stream-copied source (its hook windows match it)

    @property
    def in_band(self) -> bool:
        """Whether this codec writes its own SPS/PPS under id :data:`IN_BAND_SPS_ID` (a hook window of
        :func:`in_band_window_codec`)."""
        return f"sps-id={IN_BAND_SPS_ID}" in self.x264.split(":")

    @property
    def key(self) -> str:
        """Short identity used in cache keys (segments from different codecs never mix)."""
        if self.x264:
            import hashlib

            return f"{CANONICAL_VERSION}-{self.preset}-src{hashlib.sha256(self.x264.encode()).hexdigest()[:12]}"
        return f"{CANONICAL_VERSION}-crf{self.crf}-{self.preset}"


def current_codec() -> VideoCodec:
    """The codec settings in force now (settings ``output_crf`` and ``output_preset``)."""
    settings = get_settings()
    return VideoCodec(crf=int(settings.output_crf), preset=str(settings.output_preset))


def hook_window_codec() -> VideoCodec:
    """Preset and CRF of the re-encoded hook windows: the canonical CRF with the ``hook_window_preset``
    setting (default ``ultrafast``; empty = the canonical preset). A window whose preset differs from
    the canonical one is encoded by :func:`in_band_window_codec`."""
    settings = get_settings()
    preset = str(settings.hook_window_preset or settings.output_preset)
    return VideoCodec(crf=int(settings.output_crf), preset=preset)


IN_BAND_SPS_ID = 7  # SPS/PPS id of a hook window that carries its own parameter sets in-band
# x264's ultrafast preset turns the deblocking filter off; on again, a window at CRF 20 has the SSIM of a
# veryfast encode (0.9902 vs 0.9903 against the source, 4 s of 1080x1920) at half its CPU seconds.
# No B-frames: the window's decode timestamps equal its presentation ones, so they can be moved earlier by
# the copy's own B-frame delay (media.ffmpeg_builder.hook_segments_args) and run on from the GOP before.
WINDOW_X264 = "deblock=0,0:bframes=0"


def in_band_window_codec() -> VideoCodec:
    """The hook-window codec of :func:`hook_window_codec` with its own SPS/PPS under id
    :data:`IN_BAND_SPS_ID`, sent in-band at each of its IDRs, so that it joins stream-copied or
    transcoded GOPs of other parameter sets (decoders switch at the IDR; the MP4 is tagged ``avc3``,
    ISO/IEC 14496-15). Same fixed GOP as the canonical stream; no B-frames."""
    window = hook_window_codec()
    return VideoCodec(window.crf, window.preset,
                      f"{x264_params()}:{WINDOW_X264}:crf={window.crf}:sps-id={IN_BAND_SPS_ID}")


def x264_params() -> str:
    """The ``-x264-params`` value: fixed closed GOP, no scene cuts, stitchable headers, and the 8x8
    transform on (it makes the stream High profile even with the ``ultrafast`` preset)."""
    return f"keyint={GOP_FRAMES}:min-keyint={GOP_FRAMES}:scenecut=0:open-gop=0:stitchable=1:8x8dct=1"


def video_codec_args(codec: VideoCodec) -> list[str]:
    """FFmpeg output arguments that encode one video stream in the canonical format (or, when
    ``codec.x264`` is set, with a stream-copied source's own x264 options, see
    :func:`media.normalize.matching_x264_params`: same parameter sets, so windows join the copy)."""
    if codec.x264:
        return ["-c:v", "libx264", "-preset", codec.preset, "-pix_fmt", PIX_FMT, "-x264-params", codec.x264,
                "-r", str(FPS)]
    return [
        "-c:v", "libx264", "-preset", codec.preset, "-crf", str(codec.crf),
        "-profile:v", PROFILE, "-pix_fmt", PIX_FMT, "-x264-params", x264_params(),
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
        "-r", str(FPS),
    ]


def audio_codec_args() -> list[str]:
    """FFmpeg output arguments that encode one audio stream in the canonical format."""
    return ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE), "-ac", str(AUDIO_CHANNELS)]
