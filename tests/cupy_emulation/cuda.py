"""``cupy.cuda``: devices, the runtime API, streams, events and graphs of the emulated machine."""

from __future__ import annotations

import time
import types

from . import device_state, graphs, memory


class Device:
    """``with Device(1):`` makes device 1 current for this thread, as CuPy's does."""

    def __init__(self, device=None):
        if device is None:
            device = device_state.current_device()
        if isinstance(device, Device):
            device = device.id
        device_state.check_device_index(device)
        self._id = int(device)
        self._previous = []

    id = property(lambda self: self._id)
    compute_capability = property(lambda self: "%d%d" % device_state.COMPUTE_CAPABILITY)
    mem_info = property(lambda self: _in_device(self._id, memory.mem_get_info))
    pci_bus_id = property(lambda self: f"0000:{self._id:02x}:00.0")

    @property
    def attributes(self):
        return {"MultiProcessorCount": 2, "WarpSize": 32, "MaxThreadsPerBlock": 1024}

    def use(self):
        device_state.set_current_device(self._id)

    def synchronize(self):
        graphs.refuse_during_capture("cupy.cuda.Device.synchronize")

    def __enter__(self):
        self._previous.append(device_state.current_device())
        device_state.set_current_device(self._id)
        return self

    def __exit__(self, *exc):
        device_state.set_current_device(self._previous.pop())

    def __eq__(self, other):
        return isinstance(other, Device) and other._id == self._id

    def __hash__(self):
        return hash(self._id)

    def __repr__(self):
        return f"<CUDA Device {self._id}>"


def _in_device(index, function):
    with Device(index):
        return function()


class CUDARuntimeError(RuntimeError):
    def __init__(self, status, message=None):
        self.status = status
        super().__init__(message or f"CUDA runtime error {status}")


def _get_device_properties(device):
    device_state.check_device_index(device)
    major, minor = device_state.COMPUTE_CAPABILITY
    return {"name": device_state.DEVICE_NAME.encode(), "totalGlobalMem": device_state.TOTAL_MEMORY,
            "major": major, "minor": minor, "multiProcessorCount": 2, "warpSize": 32, "maxThreadsPerBlock": 1024,
            "sharedMemPerBlock": 48 * 1024, "clockRate": 0, "memoryClockRate": 0, "memoryBusWidth": 0,
            "l2CacheSize": 0, "pciBusID": device, "uuid": b"emulated-%d" % device}


def _synchronize():
    graphs.refuse_during_capture("cupy.cuda.runtime.deviceSynchronize")


runtime = types.SimpleNamespace(
    CUDARuntimeError=CUDARuntimeError,
    getDeviceCount=lambda: device_state.DEVICE_COUNT,
    getDevice=device_state.current_device,
    setDevice=device_state.set_current_device,
    getDeviceProperties=_get_device_properties,
    memGetInfo=memory.mem_get_info,
    runtimeGetVersion=lambda: 13000,
    driverGetVersion=lambda: 13000,
    deviceCanAccessPeer=lambda device, peer: 0,  # peer access is off between the emulated devices
    deviceSynchronize=_synchronize,
    is_hip=False,
    streamCaptureModeGlobal=0, streamCaptureModeThreadLocal=1, streamCaptureModeRelaxed=2,
    streamCaptureStatusNone=0, streamCaptureStatusActive=1, streamCaptureStatusInvalidated=2,
)


class Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self._time = None
        self.disable_timing = disable_timing

    def record(self, stream=None):
        self._time = time.perf_counter()

    def synchronize(self):
        graphs.refuse_during_capture("cupy.cuda.Event.synchronize")

    @property
    def done(self):
        return True


def get_elapsed_time(start_event, end_event):
    return (end_event._time - start_event._time) * 1e3


class Stream:
    """A stream; work runs at once (the emulation has no concurrency), capture records it."""

    null = None  # set below

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        self._null, self._non_blocking, self._priority = null, non_blocking, priority or 0
        self._capture = None
        self._device = device_state.current_device()
        self.ptr = 0 if null else id(self)

    is_non_blocking = property(lambda self: self._non_blocking)
    priority = property(lambda self: self._priority)
    done = property(lambda self: True)

    def __enter__(self):
        device_state.stream_stack().setdefault(device_state.current_device(), []).append(self)
        return self

    def __exit__(self, *exc):
        device_state.stream_stack()[device_state.current_device()].pop()

    def use(self):
        stack = device_state.stream_stack().setdefault(device_state.current_device(), [])
        stack[:] = [self]
        return self

    def synchronize(self):
        graphs.refuse_during_capture("cupy.cuda.Stream.synchronize")

    def record(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def wait_event(self, event):
        pass

    def add_callback(self, callback, arg):
        callback(self, None, arg)

    def launch_host_func(self, callback, arg):
        callback(arg)

    def begin_capture(self, mode=None):
        if self._null:
            raise CUDARuntimeError(900, "cudaErrorStreamCaptureUnsupported: the null stream cannot be captured")
        if self._capture is not None:
            raise CUDARuntimeError(900, "cudaErrorIllegalState: the stream is already capturing")
        self._capture = graphs.Capture(self)

    def is_capturing(self):
        return self._capture is not None

    def end_capture(self):
        capture, self._capture = self._capture, None
        if capture is None:
            raise CUDARuntimeError(400, "cudaErrorIllegalState: the stream is not capturing")
        if capture.invalidated:
            raise CUDARuntimeError(901, "cudaErrorStreamCaptureInvalidated: operation failed due to a previous "
                                        f"error during capture ({capture.invalidated})")
        return graphs.Graph(capture.work, self._device)

    def __repr__(self):
        return f"<Stream {self.ptr} (device: {self._device})>"


Stream.null = Stream(null=True)


def get_current_stream(device_id=-1):
    device = device_state.current_device() if device_id < 0 else device_id
    stack = device_state.stream_stack().get(device)
    return stack[-1] if stack else Stream.null


class CompileException(Exception):
    """NVRTC's compile error (``cupy.cuda.compiler.CompileException``)."""

    def __init__(self, msg, source="", name="", options=(), backend="nvrtc"):
        super().__init__(msg)
        self.source, self.name, self.options, self.backend = source, name, options, backend


compiler = types.SimpleNamespace(CompileException=CompileException)
graph = types.SimpleNamespace(Graph=graphs.Graph)
stream = types.SimpleNamespace(Stream=Stream, Event=Event, get_current_stream=get_current_stream,
                               get_elapsed_time=get_elapsed_time)
device = types.SimpleNamespace(Device=Device, get_device_id=device_state.current_device)
memory_module = types.SimpleNamespace(
    OutOfMemoryError=memory.OutOfMemoryError, MemoryPool=memory.MemoryPool, MemoryPointer=memory.MemoryPointer,
    Memory=memory.Memory, UnownedMemory=memory.UnownedMemory, BaseMemory=memory.BaseMemory,
    alloc=memory.alloc, set_allocator=memory.set_allocator, get_allocator=memory.get_allocator,
    _parse_limit_string=memory._parse_limit_string,
)

MEMBERS = {
    "Device": Device, "Event": Event, "Stream": Stream, "Graph": graphs.Graph, "MemoryPool": memory.MemoryPool,
    "MemoryPointer": memory.MemoryPointer, "Memory": memory.Memory, "UnownedMemory": memory.UnownedMemory,
    "BaseMemory": memory.BaseMemory, "PinnedMemoryPool": memory.PinnedMemoryPool,
    "alloc": memory.alloc, "get_allocator": memory.get_allocator, "set_allocator": memory.set_allocator,
    "using_allocator": memory.using_allocator, "get_current_stream": get_current_stream,
    "get_elapsed_time": get_elapsed_time, "get_device_id": device_state.current_device,
    "is_available": lambda: True, "runtime": runtime, "compiler": compiler, "graph": graph, "stream": stream,
    "device": device, "memory": memory_module, "get_local_runtime_version": lambda: 13000,
}
