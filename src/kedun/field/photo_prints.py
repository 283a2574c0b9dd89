"""A photo's print: what the copy detector keeps of a check-in photo and how it compares two.

Pure image work (numpy, OpenCV), no database: photo_copies.py stores prints and looks them up.

A print is a small grayscale thumbnail (the evidence a later comparison aligns against) and a
few 64-bit perceptual hashes (pHash: the signs of the low DCT frequencies of a 32×32 picture)
of *views* of the photo: the whole frame and crops of it. A copy that was re-encoded,
resized, brightened or blurred keeps the whole frame's hash within a few bits; a copy that was
cropped keeps the hash of the earlier photo's crop of about the same region. Hashes only find
candidates: the same storefront photographed again on another visit hashes close too (the
field-dev set puts such re-shots 4 bits and more from each other, copies 0–14 bits from their
original), so every candidate is verified by aligning the two pictures and measuring what is
left after a global tone change and a blur — a copy leaves nearly nothing, a new photo of the
same place leaves moved people, other light and shade, other perspective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

# Long side of the stored thumbnail and of the picture compared with it. 256 px keeps a
# storefront's signs and edges (what alignment locks onto) and costs ~10 KB as a JPEG; the
# comparison itself runs at half that (COMPARE_SIDE), where JPEG noise and sensor noise are
# averaged away but a passer-by (≥ 2 % of the frame) is still many pixels.
THUMB_SIDE = 256
COMPARE_SIDE = 128
# Views hashed for the index: (left, top, right, bottom) as fractions of the frame. The whole
# frame finds re-encoded, resized, brightened and blurred copies; the centred and corner crops
# find cropped ones (a pHash moves far once the frame loses more than ~10 % of a side).
VIEWS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 0.0, 1.0, 1.0),
    (0.075, 0.075, 0.925, 0.925),
    (0.15, 0.15, 0.85, 0.85),
    (0.0, 0.0, 0.85, 0.85),
    (0.15, 0.0, 1.0, 0.85),
    (0.0, 0.15, 0.85, 1.0),
    (0.15, 0.15, 1.0, 1.0),
)
# The views of a new photo that are looked up: its whole frame (a copy that was not cropped, or
# that was cropped like a stored view) and its centre (for a crop between two stored views).
QUERY_VIEWS = (0, 1, 2)


@dataclass(frozen=True)
class PhotoPrint:
    thumbnail: np.ndarray  # uint8 RGB, long side THUMB_SIDE (or less for a tiny photo)
    hashes: tuple[int, ...]  # one unsigned 64-bit pHash per VIEWS entry


def photo_print(image: Image.Image) -> PhotoPrint:
    """The print of a decoded (upright, RGB) photo."""
    # First box-reduced by a whole factor (cheap in Pillow) to no less than THUMB_SIDE, then
    # resampled: a phone's 12-megapixel photo costs little more than a small one.
    factor = max(image.size) // THUMB_SIDE
    if factor >= 2:
        image = image.reduce(factor)
    thumbnail = _resize_long_side(np.asarray(image.convert("RGB")), THUMB_SIDE)
    gray = cv2.cvtColor(thumbnail, cv2.COLOR_RGB2GRAY)
    return PhotoPrint(thumbnail=thumbnail, hashes=tuple(view_hashes(gray)))


def view_hashes(gray: np.ndarray) -> list[int]:
    """The pHash of every VIEWS entry of a grayscale picture (any size)."""
    # Hash from a picture of at most 64 px: pHash keeps only the 8×8 lowest frequencies of a
    # 32×32 resample of each view, which a 64 px picture holds in full.
    small = _resize_long_side(gray, 64)
    height, width = small.shape
    out = []
    for left, top, right, bottom in VIEWS:
        x0, x1 = round(left * width), max(round(right * width), round(left * width) + 1)
        y0, y1 = round(top * height), max(round(bottom * height), round(top * height) + 1)
        out.append(phash(small[y0:y1, x0:x1]))
    return out


def phash(gray: np.ndarray) -> int:
    """The 64-bit perceptual hash: the 8×8 lowest DCT frequencies of a 32×32 resample, each bit
    set when the coefficient is above their median (the DC term is left out of the median)."""
    resampled = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(resampled)[:8, :8].flatten()
    median = np.median(low[1:])
    return int.from_bytes(np.packbits(low > median).tobytes(), "big")


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def thumbnail_encode(thumbnail: np.ndarray) -> bytes:
    """Stored as a JPEG of high quality: ~4× smaller than PNG for a real photo, and its error
    (a level or two) is far below what the comparison counts as a change."""
    bgr = cv2.cvtColor(thumbnail, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 picture
        raise ValueError("the thumbnail could not be encoded")
    return data.tobytes()


def thumbnail_decode(data: bytes) -> np.ndarray:
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("the stored thumbnail could not be decoded")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def _resize_long_side(gray: np.ndarray, side: int) -> np.ndarray:
    height, width = gray.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return np.ascontiguousarray(gray)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


# -- verification -----------------------------------------------------------------------------


# A copy is cut from the earlier photo, so it lies inside it: cropping only takes away. 0.9
# leaves room for a slight rotation or a border added. (field-dev: every copy 1.0.)
COPY_MIN_COVER = 0.9
# Share of the overlap allowed to differ for a copy (changed areas, see CHANGED_LEVELS and the
# opening in _measure). Measured on field-dev: its 22 copies (crops to 85 %, resizes, JPEG at
# low quality, brightness, blur) 0–0.7 %; its 1,250 pairs of genuine visits to one customer
# that overlap ≥ 90 % 3.7 % and more (other people in the street, other light, framing), all
# pairs 1.3 % and more. 2 % leaves room for a copy with a small stamp or caption added
# (watermark camera apps) while a real street, which changes far more than the set's flat
# drawings, stays well above it.
COPY_MAX_CHANGED = 0.02


@dataclass(frozen=True)
class Comparison:
    """How a new photo lines up with an earlier one, in figures a manager can read."""

    cover: float  # share of the new photo that lies within the earlier one once aligned
    scale: float  # the new photo's size relative to the earlier one's
    changed: float  # share of the overlap whose grey level differs after tone and blur match
    residual: float  # mean absolute grey-level difference over the overlap
    correlation: float  # of the two pictures over the overlap, after alignment
    inliers: int  # local features matched consistently (0: aligned by the whole picture)
    method: str

    @property
    def copy(self) -> bool:
        """The new photo is the earlier one, edited: it lies (nearly) wholly inside it and
        almost nothing differs once tone and blur are matched."""
        return self.cover >= COPY_MIN_COVER and self.changed <= COPY_MAX_CHANGED

    @property
    def near(self) -> bool:
        """Worth a finer alignment: inside the earlier photo and mostly the same."""
        return self.cover >= COPY_MIN_COVER and self.changed <= 0.25

    def evidence(self) -> dict[str, Any]:
        return {
            "cover": round(self.cover, 3),
            "scale": round(self.scale, 3),
            "changed": round(self.changed, 4),
            "residual": round(self.residual, 2),
            "correlation": round(self.correlation, 4),
            "inliers": self.inliers,
        }


# Pictures narrower than this (in the thumbnail) are not compared: local features need a
# 31 px patch, and so little picture proves nothing.
MIN_SIDE = 32

_ORB = None


def _orb() -> Any:
    global _ORB
    if _ORB is None:
        _ORB = cv2.ORB_create(nfeatures=500, fastThreshold=12)  # type: ignore[attr-defined]
    return _ORB


@dataclass
class Features:
    """A picture prepared for comparison: its local features are found once per photo."""

    colour: np.ndarray
    gray: np.ndarray
    points: np.ndarray
    descriptors: np.ndarray | None


def features(thumbnail: np.ndarray) -> Features:
    gray = cv2.cvtColor(thumbnail, cv2.COLOR_RGB2GRAY)
    if min(gray.shape) < MIN_SIDE:
        return Features(thumbnail, gray, np.zeros((0, 2), np.float32), None)
    keypoints, descriptors = _orb().detectAndCompute(gray, None)
    points = np.array([k.pt for k in keypoints], np.float32).reshape(-1, 2)
    return Features(colour=thumbnail, gray=gray, points=points, descriptors=descriptors)


def compare(new: Features, earlier: Features) -> Comparison | None:
    """Align `new` onto `earlier` (a similarity: shift, scale, a little rotation) and measure
    what differs. None when no alignment puts most of the new photo inside the earlier one.

    Local features align first; the whole-picture correlation is tried only when they find no
    consistent match (a plain wall, a strongly blurred copy), so a re-shot that the features
    align well is measured once."""
    if min(new.gray.shape) < MIN_SIDE or min(earlier.gray.shape) < MIN_SIDE:
        return None  # a sliver or an icon: nothing to measure, no evidence either way
    found = _by_features(new, earlier)
    measured = None
    if found is not None:
        measured = _measure(new, earlier, found[0], found[1], "features", refine=False)
        if measured is not None and not measured.copy and measured.near:
            # Features align to about a pixel; a crop that was also resized needs the
            # sub-pixel fit before its edges stop counting as changed.
            measured = _measure(new, earlier, found[0], found[1], "features") or measured
        if measured is not None and (measured.copy or found[1] >= FEATURES_TRUSTED):
            return measured
    warp = _by_picture(new.gray, earlier.gray)
    by_picture = _measure(new, earlier, warp, 0, "picture") if warp is not None else None
    if measured is None or (by_picture is not None and by_picture.changed < measured.changed):
        return by_picture
    return measured


# Feature matches consistent with one similarity past this many are a trustworthy alignment:
# a copy then measures as one and needs no second try. (Copies in field-dev align with 9–170
# matches; unrelated pictures rarely agree on more than 6 after RANSAC.)
FEATURES_TRUSTED = 15


def _by_features(new: Features, earlier: Features) -> tuple[np.ndarray, int] | None:
    if (
        new.descriptors is None
        or earlier.descriptors is None
        or len(new.descriptors) < 8
        or len(earlier.descriptors) < 8
    ):
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(new.descriptors, earlier.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < 8:
        return None
    source = new.points[[m.queryIdx for m in good]]
    target = earlier.points[[m.trainIdx for m in good]]
    warp, mask = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=2.5, maxIters=2000
    )
    if warp is None or mask is None:
        return None
    inliers = int(mask.sum())
    # Distinct points only: a blurred flat picture gives one corner at several ORB scales.
    distinct = len({(round(x), round(y)) for x, y in source[mask.ravel() == 1]})
    if distinct < 6:
        return None
    return warp.astype(np.float32), inliers


# The whole-picture search must find the new photo in the earlier one at least this well (at
# 64 px) before it is measured: a blurred, darkened, cropped copy correlates above 0.95 there
# (field-dev: 0.976 at worst), unrelated pictures rarely pass 0.7.
PICTURE_MIN_CORRELATION = 0.85


def _by_picture(new: np.ndarray, earlier: np.ndarray) -> np.ndarray | None:
    """A crop-and-scale found by correlating the whole new picture with the earlier one at
    sizes from 100 % down to 50 % (64 px long side): for pictures with few corners (a plain
    wall, a blurred copy) where local features find nothing to match."""
    side = 64
    small_new = _resize_long_side(new, side).astype(np.float32)
    small_earlier = _resize_long_side(earlier, side).astype(np.float32)
    factor_new = new.shape[1] / small_new.shape[1]
    factor_earlier = earlier.shape[1] / small_earlier.shape[1]
    best: tuple[float, float, Any] = (-2.0, 1.0, (0, 0))
    for scale in np.arange(1.0, 0.49, -0.04):
        width = round(small_new.shape[1] * scale)
        height = round(small_new.shape[0] * scale)
        if width > small_earlier.shape[1] or height > small_earlier.shape[0] or width < 8:
            continue
        template = cv2.resize(small_new, (width, height), interpolation=cv2.INTER_AREA)
        if float(template.std()) < 1e-3:
            continue
        scores = cv2.matchTemplate(small_earlier, template, cv2.TM_CCOEFF_NORMED)
        _, score, _, location = cv2.minMaxLoc(scores)
        if score > best[0]:
            best = (score, float(scale), location)
    score, scale, (x, y) = best
    if score < PICTURE_MIN_CORRELATION:
        return None
    # new pixel u → earlier pixel: small_new = u / factor_new; × scale; + offset; × factor_e.
    ratio = scale * factor_earlier / factor_new
    return np.array([[ratio, 0, x * factor_earlier], [0, ratio, y * factor_earlier]], np.float32)


def _measure(
    new: Features,
    earlier: Features,
    warp: np.ndarray,
    inliers: int,
    method: str,
    *,
    refine: bool = True,
) -> Comparison | None:
    # Compare at COMPARE_SIDE: both pictures and the warp scaled down.
    small_new = _resize_long_side(new.colour, COMPARE_SIDE)
    small_earlier = _resize_long_side(earlier.colour, COMPARE_SIDE)
    fx_new = small_new.shape[1] / new.colour.shape[1]
    fx_earlier = small_earlier.shape[1] / earlier.colour.shape[1]
    warp = warp.astype(np.float64).copy()
    warp[:, :2] *= fx_earlier / fx_new
    warp[:, 2] *= fx_earlier
    warp = warp.astype(np.float32)
    if refine:
        warp = _refine(
            cv2.cvtColor(small_new, cv2.COLOR_RGB2GRAY),
            cv2.cvtColor(small_earlier, cv2.COLOR_RGB2GRAY),
            warp,
        )
    determinant = abs(float(np.linalg.det(warp[:, :2].astype(np.float64))))
    if not 0.05 < determinant < 20:  # a degenerate or wild alignment is no alignment
        return None
    height, width = small_new.shape[:2]
    aligned = cv2.warpAffine(
        small_earlier,
        warp,
        (width, height),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    inside = cv2.warpAffine(
        np.ones(small_earlier.shape[:2], np.uint8),
        warp,
        (width, height),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        borderValue=0,
    )
    # Two pixels in from the overlap's edge: interpolation there mixes in the border.
    inside = cv2.erode(inside, np.ones((5, 5), np.uint8)).astype(bool)
    cover = float(inside.mean())
    if cover < 0.5:
        return None
    scale = fx_earlier / fx_new / math.sqrt(determinant)
    target, source = small_new, aligned
    if _monochrome(target):
        # A copy turned grey: its grey is no channel of the original, compare luminance.
        target = cv2.cvtColor(target, cv2.COLOR_RGB2GRAY)[..., None]
        source = cv2.cvtColor(source, cv2.COLOR_RGB2GRAY)[..., None]
    channels = target.shape[2]
    planes_new = [np.ascontiguousarray(target[..., c]) for c in range(channels)]
    wanted = [plane[inside] for plane in planes_new]
    overlap = int(inside.sum())
    best: tuple[float, float, list[np.ndarray]] | None = None
    # The copy may have been blurred; the earlier photo is blurred to match (the least
    # residual wins). Sigmas at COMPARE_SIDE: 1.6 px there is a 5 px blur on a 640 px photo.
    for sigma in (0.0, 0.8, 1.6, 3.0):
        blurred = cv2.GaussianBlur(source, (0, 0), sigma) if sigma else source
        blurred = blurred.reshape(target.shape)
        toned = [
            _tone_match(np.ascontiguousarray(blurred[..., c]), wanted[c], inside)
            for c in range(channels)
        ]
        # A pixel's difference is its worst channel's: a pink coat on a green wall can have
        # the wall's grey level.
        difference = cv2.absdiff(toned[0], planes_new[0])
        for c in range(1, channels):
            difference = cv2.max(difference, cv2.absdiff(toned[c], planes_new[c]))
        difference[np.logical_not(inside)] = 0
        residual = float(difference.sum()) / overlap
        if best is None or residual < best[0]:
            # A change counts where it covers an area: resampling a copy moves an edge by
            # under a pixel and leaves a one-pixel line of differences along it, which the
            # opening (3×3) removes; a passer-by or a shadow is a blob and stays.
            mask: Any = (difference > CHANGED_LEVELS).astype(np.uint8)
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, _SQUARE3)
            changed = float(np.count_nonzero(mask)) / overlap
            best = (residual, changed, toned)
        else:
            break  # the residual grows with more blur from here on: the match is behind us
    assert best is not None
    residual, changed, toned = best
    correlation = _correlation(
        np.concatenate([plane[inside] for plane in toned]).astype(np.float32),
        np.concatenate(wanted).astype(np.float32),
    )
    return Comparison(
        cover=cover,
        scale=scale,
        changed=changed,
        residual=residual,
        correlation=correlation,
        inliers=inliers,
        method=method,
    )


def _monochrome(picture: np.ndarray) -> bool:
    red, green, blue = cv2.split(picture)
    spread = cv2.absdiff(red, green).mean() + cv2.absdiff(green, blue).mean()
    return float(spread) < 3


# A pixel counts as changed when, after tone and blur are matched, one of its channels is this
# many levels off. Re-encoding and resampling a copy leave 1–4 levels; a person, a shadow, a
# parked car in a re-shot differ by tens.
CHANGED_LEVELS = 16


def _refine(new: np.ndarray, earlier: np.ndarray, warp: np.ndarray) -> np.ndarray:
    """Sub-pixel alignment by ECC (enhanced correlation coefficient), which ignores a global
    brightness and contrast change; the first estimate stands when ECC does not converge."""
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-4)
    try:
        _, refined = cv2.findTransformECC(  # type: ignore[call-overload]
            new.astype(np.float32),
            earlier.astype(np.float32),
            warp.copy(),
            cv2.MOTION_AFFINE,
            criteria,
            None,
            3,
        )
    except cv2.error:
        return warp
    return np.asarray(refined, np.float32)


def _tone_match(source: np.ndarray, wanted: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Map one channel of the aligned earlier picture onto the new one's by one monotone curve
    for the whole picture (the mean wanted level per source level, in 32 bins, interpolated):
    brightness, contrast, gamma and colour-filter edits of a copy are such curves; light that
    falls differently on a re-shot scene is not. `wanted` is the new channel inside the
    overlap; returns the toned channel as uint8."""
    levels = source[inside]
    bins = levels >> 3
    counts = np.bincount(bins, minlength=32)
    sums = np.bincount(bins, weights=wanted, minlength=32)
    present = counts >= 4
    if present.sum() < 2:
        table = np.arange(256) + float(wanted.mean()) - float(levels.mean())
    else:
        means = np.maximum.accumulate(sums[present] / counts[present])
        table = np.interp(np.arange(256), _BIN_CENTRES[present], means)
    return cv2.LUT(source, np.clip(np.rint(table), 0, 255).astype(np.uint8))


_BIN_CENTRES = np.arange(32) * 8 + 4
_SQUARE3 = np.ones((3, 3), np.uint8)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0
