"""CarRacing-v3's observation drawn straight at its own size: the fast renderer.

gymnasium draws every observation at window size (1000x800) with pure-Python pygame calls, one
polygon at a time, and then box-filters the window down to 96x96 (``pygame.transform
.smoothscale``): about 97% of a step. This module draws the same scene in the same order onto a
small canvas, ``SUPERSAMPLE`` times the observation in each direction, and area-averages it down
to 96x96, which stands in for gymnasium's anti-aliased edges and box filter:

1. the field (background colour) and the grass patches, then the road tiles and kerbs, with the
   camera of ``CarRacing._render``: zoom animated over the first second, the view rotated by
   minus the hull's angle, the car at (1/2, 3/4) of the frame after the vertical flip;
2. the car in state-pixels mode: the four wheels (with the grey stripe that shows their phase),
   then the hull's four polygons; no skid particles, as in gymnasium's observation;
3. the indicator bar: speed, the four ABS sensors, steering and angular velocity; the score
   digits, which gymnasium writes with a TrueType font, are left out (they sit in the bottom
   12 rows, which the paper's 84x84 crop removes anyway);
4. the 2 levels that pygame's smoothscale loses to truncation on every colour.

Speed comes from doing per frame only what the frame needs, in few calls: polygons off the
canvas are culled by their bounding boxes in one comparison, the visible ones are transformed to
OpenCV's fixed-point vertices (subpixel positions survive) in one ``cv2.transform``, and each
colour's visible polygons are filled in one call. A frame runs between physics steps, with cold
caches, where every numpy or OpenCV call costs several microseconds: the car's few vertices are
placed in plain arithmetic instead. Tile colours change when the car first touches a
tile (gymnasium writes the road colour into the tile's own array); the tiles' arrays are made
views of one (n, 3) array at track creation, so the renderer reads every tile's current colour
with no Python loop.

Fidelity against gymnasium's frames is measured by ``scripts/bench_carracing.py --fidelity`` and
bounded in ``tests/test_carracing_render.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
from gymnasium.envs.box2d import car_dynamics
from gymnasium.envs.box2d.car_racing import (
    GRASS_DIM,
    PLAYFIELD,
    SCALE,
    STATE_H,
    STATE_W,
    WINDOW_H,
    WINDOW_W,
    ZOOM,
    CarRacing,
)

SUPERSAMPLE = 2
SHIFT = 4  # fractional bits of OpenCV's fixed-point vertices
SMOOTHSCALE_LOSS = (2, 2, 2, 0)  # per channel: OpenCV 4 reads a bare number as channel 0's
_CANVAS_W, _CANVAS_H = STATE_W * SUPERSAMPLE, STATE_H * SUPERSAMPLE
# Window pixels -> canvas pixels (the window's aspect ratio is not the observation's).
_SX, _SY = _CANVAS_W / WINDOW_W, _CANVAS_H / WINDOW_H
_CORNERS = ((0, 0), (_CANVAS_W, 0), (0, _CANVAS_H), (_CANVAS_W, _CANVAS_H))


def _grass_quads() -> np.ndarray:
    """The grass patches of ``CarRacing._render_road``: (20, 20, 4, 2) world coordinates, the
    patch at grid column i and row j at [i, j] (every other cell of a 40 x 40 grid)."""
    quads = [
        [
            [
                (GRASS_DIM * x + GRASS_DIM, GRASS_DIM * y),
                (GRASS_DIM * x, GRASS_DIM * y),
                (GRASS_DIM * x, GRASS_DIM * y + GRASS_DIM),
                (GRASS_DIM * x + GRASS_DIM, GRASS_DIM * y + GRASS_DIM),
            ]
            for y in range(-20, 20, 2)
        ]
        for x in range(-20, 20, 2)
    ]
    return np.array(quads, dtype=np.float64)


_GRASS = _grass_quads()


def _visible_grass(camera: Camera) -> np.ndarray:
    """The patches that meet the world box the canvas shows, found on the grid: (n, 4, 2)."""

    def cells(low: float, high: float) -> slice:
        # Patch k spans [GRASS_DIM (2k - 20), GRASS_DIM (2k - 19)].
        first = math.ceil((low / GRASS_DIM + 19) / 2)
        last = math.floor((high / GRASS_DIM + 20) / 2)
        return slice(min(max(first, 0), 20), min(max(last + 1, 0), 20))

    columns = cells(camera.low[0], camera.high[0])
    rows = cells(camera.low[1], camera.high[1])
    return _GRASS[columns, rows].reshape(-1, 4, 2)


class Camera:
    """World -> canvas pixels for one frame: ``CarRacing._render``'s transform, then the flip."""

    def __init__(self, env: CarRacing) -> None:
        zoom = 0.1 * SCALE * max(1 - env.t, 0) + ZOOM * SCALE * min(env.t, 1)
        angle = -env.car.hull.angle
        cos, sin = math.cos(angle), math.sin(angle)
        x, y = env.car.hull.position
        # p_window = zoom R(angle) (p - car) + (W/2, H/4); canvas: flip y, scale each axis.
        # Scalar arithmetic: a 2x2 matrix is too small for numpy to pay off.
        a, b = zoom * cos * _SX, -zoom * sin * _SX
        c, d = -zoom * sin * _SY, -zoom * cos * _SY
        u0 = WINDOW_W / 2 * _SX - (a * x + b * y)
        v0 = (WINDOW_H - WINDOW_H / 4) * _SY - (c * x + d * y)
        self._affine = (a, b, c, d, u0, v0)
        # The world box the canvas shows (a rotated view: the box around its four corners).
        det = a * d - b * c
        xs = [(d * (u - u0) - b * (v - v0)) / det for u, v in _CORNERS]
        ys = [(a * (v - v0) - c * (u - u0)) / det for u, v in _CORNERS]
        self.low = (min(xs), min(ys))
        self.high = (max(xs), max(ys))
        # Bounds for Shapes.visible: a box (low, -high) meets the view where it is <= these.
        self.bounds = np.array([max(xs), max(ys), -min(xs), -min(ys)])
        # World -> OpenCV's fixed-point vertices in one cv2.transform; the half unit makes the
        # truncation of astype a rounding (exact for the canvas, where coordinates are >= 0).
        f = 1 << SHIFT
        self.fixed_affine = np.array([[a * f, b * f, u0 * f + 0.5], [c * f, d * f, v0 * f + 0.5]])

    def fixed(self, polygons: np.ndarray) -> np.ndarray:
        """(n, k, 2) world polygons -> (n, k, 2) int32 fixed-point canvas vertices."""
        return cv2.transform(polygons, self.fixed_affine).astype(np.int32)

    def place(self, body) -> Callable[[list], list[tuple[int, int]]]:
        """The map from ``body``'s coordinates to OpenCV's fixed-point canvas vertices:
        canvas = M (R(angle) p + position) + offset = (M R) p + (M position + offset)."""
        a, b, c, d, u0, v0 = self._affine
        cos, sin = math.cos(body.angle), math.sin(body.angle)
        x, y = body.position
        f = 1 << SHIFT
        m00, m01 = (a * cos + b * sin) * f, (b * cos - a * sin) * f
        m10, m11 = (c * cos + d * sin) * f, (d * cos - c * sin) * f
        du, dv = (a * x + b * y + u0) * f, (c * x + d * y + v0) * f
        return lambda polygon: [
            (round(m00 * px + m01 * py + du), round(m10 * px + m11 * py + dv)) for px, py in polygon
        ]

    def inside_field(self) -> bool:
        """Whether the whole canvas shows the field."""
        return max(-min(self.low), max(self.high)) < PLAYFIELD


class Shapes:
    """Fixed world polygons (n, k, 2) with their bounding boxes, for culling before transforming."""

    def __init__(self, polygons: np.ndarray) -> None:
        self.polygons = np.ascontiguousarray(polygons)
        self.box = np.concatenate([polygons.min(axis=1), -polygons.max(axis=1)], axis=1)

    def visible(self, camera: Camera) -> np.ndarray:
        """Indices of the polygons whose box meets the world box the canvas shows (a superset)."""
        return np.flatnonzero((self.box <= camera.bounds).all(axis=1))


def _fill(canvas: np.ndarray, camera: Camera, polygons: np.ndarray, color) -> None:
    """Fill (n, k, 2) world polygons with one colour, at subpixel precision."""
    if len(polygons):
        color = tuple(int(c) for c in color)
        cv2.fillPoly(canvas, camera.fixed(polygons), color, cv2.LINE_8, SHIFT)


_RGB_CODE = np.array([1 << 16, 1 << 8, 1])
_FIELD = np.array(
    [
        [
            (PLAYFIELD, PLAYFIELD),
            (PLAYFIELD, -PLAYFIELD),
            (-PLAYFIELD, -PLAYFIELD),
            (-PLAYFIELD, PLAYFIELD),
        ]
    ]
)


class Track:
    """The road polygons of one track as arrays, and its tiles' live colours.

    gymnasium draws the road polygon by polygon: tile i, then its kerb if it has one. Tiles only
    share edges with their neighbours and kerbs lie outside the road, so filling the visible
    polygons one colour at a time (one OpenCV call per colour) paints the same pixels but along
    those shared edges (measured in the fidelity figures).
    """

    def __init__(self, env: CarRacing) -> None:
        polygons, colors = zip(*env.road_poly)
        self.polygons = np.array(polygons, dtype=np.float64)  # (n, 4, 2), gymnasium's order
        self.colors = np.array(colors, dtype=np.float64)  # (n, 3); the tiles' rows are live
        # The tiles' colour arrays become views of self.colors: the contact listener's in-place
        # write of the road colour (a visited tile) lands here.
        tile_of = {id(tile.color): tile for tile in env.road}
        for k, color in enumerate(colors):
            if id(color) in tile_of:
                tile_of[id(color)].color = self.colors[k]
        self.background = np.empty((_CANVAS_H, _CANVAS_W, 3), dtype=np.uint8)
        self.background[:] = tuple(int(c) for c in env.bg_color)
        self._sort_by_colour()

    def _sort_by_colour(self) -> None:
        """Order the polygons by colour (stable: gymnasium's order within a colour), so that
        each colour's visible polygons are one slice, filled in one call. gymnasium draws
        int(c) of each channel: one 24-bit code per polygon."""
        codes = self.colors.astype(np.int64) @ _RGB_CODE
        order = np.argsort(codes, kind="stable")
        self.shapes = Shapes(self.polygons[order])
        self.codes = codes[order]
        self.palette = np.unique(codes)
        self.palette_rgb = [(c >> 16, (c >> 8) & 255, c & 255) for c in self.palette.tolist()]
        self._sorted_shades = self.colors[:, 0].sum()

    def draw(self, canvas: np.ndarray, camera: Camera) -> None:
        # A visited tile only ever turns to the road colour, which lowers its red channel:
        # the red channel's sum tells when to sort again.
        if self.colors[:, 0].sum() != self._sorted_shades:
            self._sort_by_colour()
        shown = self.shapes.visible(camera)
        if not len(shown):
            return
        fixed = camera.fixed(self.shapes.polygons[shown])
        starts = np.searchsorted(self.codes[shown], self.palette).tolist()
        for color, start, end in zip(self.palette_rgb, starts, [*starts[1:], len(shown)]):
            if end > start:
                cv2.fillPoly(canvas, fixed[start:end], color, cv2.LINE_8, SHIFT)


class CarShapes:
    """A car's polygons in body coordinates, read once from Box2D (they never change).

    A frame composes each body's pose with the camera into one affine map per body and places
    the body's few vertices with it in plain arithmetic: the car has 36 vertices (and up to 16
    of stripes), too few for numpy's per-call cost, which between physics steps is paid cold.
    """

    def __init__(self, car: car_dynamics.Car) -> None:
        self.car = car
        self.bodies = [*car.wheels, car.hull]
        self.wheels = [[tuple(v) for v in w.fixtures[0].shape.vertices] for w in car.wheels]
        self.hull = [[tuple(v) for v in f.shape.vertices] for f in car.hull.fixtures]
        self.hull_color = tuple(int(c * 255) for c in car.hull.color)
        self.wheel_color = tuple(int(c * 255) for c in car.wheels[0].color)

    def draw(self, canvas: np.ndarray, camera: Camera) -> None:
        """``Car.draw`` without particles: wheels, their phase stripes, then the hull.

        The wheels never overlap one another, so drawing all wheels before all stripes paints
        what gymnasium's wheel-by-wheel order paints; the hull overlaps the rear wheels and
        comes last, as in gymnasium.
        """
        places = [camera.place(body) for body in self.bodies]
        wheels = [place(polygon) for place, polygon in zip(places, self.wheels)]
        cv2.fillPoly(canvas, np.array(wheels, np.int32), self.wheel_color, cv2.LINE_8, SHIFT)
        stripes = _wheel_stripes([wheel.phase for wheel in self.car.wheels])
        if stripes:
            bands = np.array([places[k](band) for k, band in stripes], np.int32)
            cv2.fillPoly(canvas, bands, car_dynamics.WHEEL_WHITE, cv2.LINE_8, SHIFT)
        hull = [np.array(places[4](polygon), np.int32) for polygon in self.hull]
        cv2.fillPoly(canvas, hull, self.hull_color, cv2.LINE_8, SHIFT)


def _wheel_stripes(phases: list[float]) -> list[tuple[int, list[tuple[float, float]]]]:
    """The grey bands that show the wheels' phases (``Car.draw``): (wheel, band in the wheel's
    coordinates) for each wheel that shows one."""
    w = car_dynamics.WHEEL_W * car_dynamics.SIZE
    r = car_dynamics.WHEEL_R * car_dynamics.SIZE
    stripes = []
    for k, phase in enumerate(phases):
        s1, s2 = math.sin(phase), math.sin(phase + 1.2)
        if s1 > 0 and s2 > 0:
            continue
        c1, c2 = math.cos(phase), math.cos(phase + 1.2)
        c1 = math.copysign(1.0, c1) if s1 > 0 else c1
        c2 = math.copysign(1.0, c2) if s2 > 0 else c2
        stripes.append((k, [(-w, r * c1), (w, r * c1), (w, r * c2), (-w, r * c2)]))
    return stripes


def _draw_indicators(canvas: np.ndarray, env: CarRacing) -> None:
    """``CarRacing._render_indicators``: the bar and its gauges, all axis-aligned boxes, each
    filled where the centres of its pixels lie (window coordinates rounded to the canvas).
    Plain arithmetic: seven boxes are too few for numpy to pay off."""
    canvas[_BAR_TOP:] = 0
    car = env.car
    wheels = car.wheels
    # gymnasium tests each gauge's source value, then draws the scaled one.
    gauges = [(5, math.hypot(*car.hull.linearVelocity), 0.02)]
    gauges += [(7 + k, wheel.omega, 0.01) for k, wheel in enumerate(wheels)]
    for (place, value, gain), color in zip(gauges, _VERTICAL_COLORS):
        if abs(value) > 1e-4:
            left, right = _GAUGE_COLUMNS[place]
            _fill_rows(canvas, left, right, _H_ - (_h + _h * gain * value), _H_ - _h, color)
    bars = [(20, -10.0 * wheels[0].joint.angle), (30, -0.8 * car.hull.angularVelocity)]
    for (place, value), color in zip(bars, _HORIZONTAL_COLORS):
        if abs(value) > 1e-4:
            left, right = sorted((round(place * _S * _SX), round((place + value) * _S * _SX)))
            _fill_rows(canvas, left, right, _H_ - 4 * _h, _H_ - 2 * _h, color)


def _fill_rows(canvas: np.ndarray, left: int, right: int, y0: float, y1: float, color) -> None:
    """Fill canvas columns left..right-1 between window rows y0 and y1 (either order)."""
    top, bottom = sorted((round(y0 * _SY), round(y1 * _SY)))
    if right > left and bottom > top:  # OpenCV's corners are inclusive
        cv2.rectangle(canvas, (left, top), (right - 1, bottom - 1), color, cv2.FILLED)


_S, _h, _H_ = WINDOW_W / 40.0, WINDOW_H / 40.0, WINDOW_H
_BAR_TOP = round((WINDOW_H - 5 * _h) * _SY)
_GAUGE_COLUMNS = {
    place: (round(place * _S * _SX), round((place + 1) * _S * _SX)) for place in range(5, 11)
}
_VERTICAL_COLORS = [(255, 255, 255), (0, 0, 255), (0, 0, 255), (51, 0, 255), (51, 0, 255)]
_HORIZONTAL_COLORS = [(0, 255, 0), (255, 0, 0)]


def render_state(env: CarRacing, track: Track, canvas: np.ndarray) -> np.ndarray:
    """The 96x96x3 uint8 observation of ``env`` now (``canvas``: a reusable work buffer)."""
    camera = Camera(env)
    if camera.inside_field():
        np.copyto(canvas, track.background)  # a numpy fill with a colour is ~50x slower
    else:  # near the playfield's edge, or zoomed out in the first second: black beyond it
        canvas[:] = 0
        _fill(canvas, camera, _FIELD, env.bg_color)
    _fill(canvas, camera, _visible_grass(camera), env.grass_color)
    track.draw(canvas, camera)
    if env._car_shapes is None or env._car_shapes.car is not env.car:
        env._car_shapes = CarShapes(env.car)
    env._car_shapes.draw(canvas, camera)
    _draw_indicators(canvas, env)
    frame = cv2.resize(canvas, (STATE_W, STATE_H), interpolation=cv2.INTER_AREA)
    # pygame's smoothscale truncates once per axis: a flat colour comes out 2 levels darker.
    return cv2.subtract(frame, SMOOTHSCALE_LOSS)


class FastCarRacing(CarRacing):
    """gymnasium's CarRacing-v3 whose observations come from :func:`render_state`.

    Physics, track, reward and termination are gymnasium's own; ``render()`` in ``rgb_array``
    mode (the replay's video) is still gymnasium's drawing at window size.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._track: Track | None = None
        self._car_shapes: CarShapes | None = None
        self._canvas = np.zeros((_CANVAS_H, _CANVAS_W, 3), dtype=np.uint8)

    def _create_track(self) -> bool:
        created = super()._create_track()
        if created:
            self._track = Track(self)
        return created

    def _render(self, mode: str):
        if mode != "state_pixels" or self._track is None or "t" not in self.__dict__:
            return super()._render(mode)
        return render_state(self, self._track, self._canvas)
