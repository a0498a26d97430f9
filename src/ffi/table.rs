// The C ABI in one table. Included twice: by `src/ffi/mod.rs`, whose macros generate the
// `extern "C"` functions and constants, and by `build.rs`, whose macros of the same names write
// `include/rectifier.h`. So the header is generated from this file, and the two cannot drift.
//
// Grammar (see the macros in `src/ffi/mod.rs` for the meaning of each parameter kind):
// - `ffi_enums!`: `/// doc` `enum c_type_name { /// doc  NAME = value, ... }`: an `int32_t` typedef
//   and its constants.
// - `ffi_kernels!`: one row per public kernel:
//   `/// doc` `name(param: Kind(len?), ...) => rectifier_method(args);`
//   generates `rectifier_<name>_f32`, `rectifier_<name>_f64` (on the active backend) and
//   `rectifier_<name>_f32_on`, `rectifier_<name>_f64_on` (on a given backend, first argument).
// - `ffi_functions!`: the hand-written functions (bodies included), with their docs.
//
// Adding a kernel is adding a row to `ffi_kernels!` (and, for a new `Error` variant, a status to
// `ffi_enums!` plus its arm in `status_of` in `src/ffi/mod.rs`).

ffi_enums! {
    /// A status code, returned by every kernel: `RECTIFIER_OK` (0) or the reason nothing was
    /// written. `rectifier_status_message` gives a sentence for each. Codes are stable: new ones
    /// are only ever appended.
    enum rectifier_status {
        /// Success: every output was written.
        RECTIFIER_OK = 0 => "success",
        /// Two buffers that must have related lengths do not (for example `mask_words` is not
        /// `rectifier_mask_words(n)`).
        RECTIFIER_LENGTH_MISMATCH = 1 => "a buffer length does not match the length it must have",
        /// A length is not a multiple of a shape parameter (PReLU: `n` is not a multiple of
        /// `channels`, or of `channels * spatial` for channels-first).
        RECTIFIER_NOT_DIVISIBLE = 2 => "a length is not a multiple of the shape parameter it must be a multiple of",
        /// A slope (`slope`, or an element of `slopes`) is NaN or infinite.
        RECTIFIER_NON_FINITE_SLOPE = 3 => "a slope is NaN or infinite",
        /// A shape parameter is out of range (`channels == 0`; `spatial == 0` with `n > 0`;
        /// `channels * spatial` overflows).
        RECTIFIER_INVALID_SHAPE = 4 => "a shape parameter is out of range",
        /// Backward from the forward output was asked with `RECTIFIER_SUBGRADIENT_RIGHT`, for
        /// which it is not exact: pass the forward input `z` instead.
        RECTIFIER_FROM_OUTPUT_SUBGRADIENT = 5 => "backward from the forward output is exact only with RECTIFIER_SUBGRADIENT_LEFT; pass the forward input z instead",
        /// Backward from the forward output was asked with a slope `<= 0`, for which it is not
        /// exact: pass the forward input `z` instead.
        RECTIFIER_FROM_OUTPUT_SLOPE = 6 => "backward from the forward output is exact only when every slope is > 0; pass the forward input z instead",
        /// The backend asked for is not supported by this CPU or build.
        RECTIFIER_UNSUPPORTED_BACKEND = 7 => "the backend is not supported by this CPU or build",
        /// A pointer is NULL while its length is not 0.
        RECTIFIER_NULL_POINTER = 8 => "a pointer is NULL while its length is not 0",
        /// A pointer is not aligned to its element type (4 bytes for `float`, 8 for `double` and
        /// `uint64_t`).
        RECTIFIER_MISALIGNED_POINTER = 9 => "a pointer is not aligned to its element type",
        /// A buffer's size in bytes exceeds `PTRDIFF_MAX` (`isize::MAX`), or the buffer would wrap
        /// around the end of the address space.
        RECTIFIER_SIZE_OVERFLOW = 10 => "a buffer's size in bytes overflows (more than PTRDIFF_MAX bytes, or past the end of the address space)",
        /// A buffer that the function writes overlaps another buffer of the call (in-place
        /// functions take one pointer for their in/out buffer instead).
        RECTIFIER_OVERLAP = 11 => "a buffer the function writes overlaps another buffer of the call",
        /// An enumeration argument (backend, subgradient, layout, maxout layout or grad mode) has
        /// an unknown value.
        RECTIFIER_INVALID_ARGUMENT = 12 => "an enumeration argument (backend, subgradient, layout, maxout layout or grad mode) has an unknown value",
        /// A bug in the library: a panic was caught at the boundary. Outputs may have been
        /// partly written. Please report it.
        RECTIFIER_INTERNAL = 13 => "internal error (a panic was caught at the C boundary); please report it",
        /// Maxout: the group size `k` does not fit the index type.
        RECTIFIER_INDEX_TYPE_TOO_NARROW = 14 => "the maxout group size k does not fit the index type",
        /// Maxout backward: an index is not a position inside its group (`>= k`).
        RECTIFIER_INDEX_OUT_OF_RANGE = 15 => "a maxout index is not below the group size k",
    }

    /// A backend: a family of kernels for one instruction set. Every backend gives the same
    /// bits; they differ only in speed.
    enum rectifier_backend {
        /// For `_on` functions: the active backend (as the functions without `_on` use).
        RECTIFIER_BACKEND_AUTO = -1 => "auto",
        /// The scalar reference. Always supported.
        RECTIFIER_BACKEND_SCALAR = 0 => "scalar",
        /// x86-64-v3: AVX2 + FMA.
        RECTIFIER_BACKEND_AVX2 = 1 => "avx2",
        /// x86-64-v4: AVX-512 F/BW/CD/DQ/VL.
        RECTIFIER_BACKEND_AVX512 = 2 => "avx512",
        /// aarch64 Advanced SIMD.
        RECTIFIER_BACKEND_NEON = 3 => "neon",
    }

    /// The one-sided derivative that backward kernels take at the kink `z = 0`.
    enum rectifier_subgradient {
        /// The left derivative (PyTorch's convention): only `z > 0` counts as the linear side.
        RECTIFIER_SUBGRADIENT_LEFT = 0 => "left",
        /// The right derivative: `z >= 0` counts as the linear side.
        RECTIFIER_SUBGRADIENT_RIGHT = 1 => "right",
    }

    /// How a PReLU buffer is laid out; the channel count `C` is `channels`.
    enum rectifier_layout {
        /// `[rows, C]` (NHWC): the channel of element `i` is `i % C`; `spatial` is ignored.
        RECTIFIER_LAYOUT_CHANNELS_LAST = 0 => "channels_last",
        /// `[N, C, S]` (NCHW with `S = spatial = H * W`): the channel of element `i` is
        /// `(i / S) % C`.
        RECTIFIER_LAYOUT_CHANNELS_FIRST = 1 => "channels_first",
    }

    /// Where the `k` pieces of a maxout group are in memory (`G = groups` groups,
    /// `n = G * k` elements).
    enum rectifier_maxout_layout {
        /// Group `g` is `z[g*k .. (g+1)*k]` (the `[G, k]` row-major view, `torch`
        /// `view(-1, k)`).
        RECTIFIER_MAXOUT_INTERLEAVED = 0 => "interleaved",
        /// Piece `j` of group `g` is `z[j*G + g]`: `k` planes of `G` values.
        RECTIFIER_MAXOUT_PLANAR = 1 => "planar",
    }

    /// How maxout backward writes `dx`.
    enum rectifier_maxout_grad_mode {
        /// `dx[g, indices[g]] = dy[g]` (bits kept), every other element of the group `+0`.
        RECTIFIER_MAXOUT_OVERWRITE = 0 => "overwrite",
        /// `dx[g, indices[g]] += dy[g]` (one IEEE addition; a NaN `dx` wins over a NaN `dy`,
        /// quieted); the other elements are not touched.
        RECTIFIER_MAXOUT_ACCUMULATE = 1 => "accumulate",
    }
}

ffi_kernels! {
    /// ReLU: `dst[i] = src[i] < 0 ? +0 : src[i]` (`-0` stays `-0`, NaN bits are kept).
    relu(src: In(n), dst: Out(n), n: Count) => relu(src, dst);
    /// ReLU in place.
    relu_inplace(x: InOut(n), n: Count) => relu_inplace(x);
    /// Leaky ReLU: `dst[i] = src[i] > 0 ? src[i] : slope * src[i]` (one rounding; NaN quieted,
    /// sign and payload kept).
    leaky_relu(src: In(n), dst: Out(n), n: Count, slope: Scalar) => leaky_relu(src, dst, slope);
    /// Leaky ReLU in place.
    leaky_relu_inplace(x: InOut(n), n: Count, slope: Scalar) => leaky_relu_inplace(x, slope);
    /// Absolute-value rectification: `dst[i] = src[i]` with the sign bit cleared.
    abs(src: In(n), dst: Out(n), n: Count) => abs(src, dst);
    /// Absolute-value rectification in place.
    abs_inplace(x: InOut(n), n: Count) => abs_inplace(x);
    /// PReLU: `dst[i] = src[i] > 0 ? src[i] : slopes[c] * src[i]`, `c` the channel of `i`.
    prelu(src: In(n), dst: Out(n), n: Count, slopes: In(channels), channels: Count,
        layout: Layout(spatial), spatial: Count) => prelu(src, dst, slopes, layout);
    /// PReLU in place.
    prelu_inplace(x: InOut(n), n: Count, slopes: In(channels), channels: Count,
        layout: Layout(spatial), spatial: Count) => prelu_inplace(x, slopes, layout);

    /// ReLU backward from the forward input: `dx[i] = z[i]` on the linear side (see
    /// `subgradient`) ? `dy[i]` : `+0`.
    relu_backward(z: In(n), dy: In(n), dx: Out(n), n: Count, subgradient: Subgradient)
        => relu_backward(z, dy, dx, subgradient);
    /// ReLU backward in place (`dx` over `dy`).
    relu_backward_inplace(z: In(n), dy_dx: InOut(n), n: Count, subgradient: Subgradient)
        => relu_backward_inplace(z, dy_dx, subgradient);
    /// ReLU backward from the forward output `y` (exact only with
    /// `RECTIFIER_SUBGRADIENT_LEFT`, else `RECTIFIER_FROM_OUTPUT_SUBGRADIENT`).
    relu_backward_from_output(y: In(n), dy: In(n), dx: Out(n), n: Count,
        subgradient: Subgradient) => relu_backward_from_output(y, dy, dx, subgradient);
    /// ReLU backward from the forward output, in place.
    relu_backward_from_output_inplace(y: In(n), dy_dx: InOut(n), n: Count,
        subgradient: Subgradient) => relu_backward_from_output_inplace(y, dy_dx, subgradient);
    /// Leaky ReLU backward: `dx[i] = dy[i]` on the linear side, else `slope * dy[i]`.
    leaky_relu_backward(z: In(n), dy: In(n), dx: Out(n), n: Count, slope: Scalar,
        subgradient: Subgradient) => leaky_relu_backward(z, dy, dx, slope, subgradient);
    /// Leaky ReLU backward in place.
    leaky_relu_backward_inplace(z: In(n), dy_dx: InOut(n), n: Count, slope: Scalar,
        subgradient: Subgradient) => leaky_relu_backward_inplace(z, dy_dx, slope, subgradient);
    /// Leaky ReLU backward from the forward output (exact only with
    /// `RECTIFIER_SUBGRADIENT_LEFT` and `slope > 0`).
    leaky_relu_backward_from_output(y: In(n), dy: In(n), dx: Out(n), n: Count, slope: Scalar,
        subgradient: Subgradient) => leaky_relu_backward_from_output(y, dy, dx, slope, subgradient);
    /// Leaky ReLU backward from the forward output, in place.
    leaky_relu_backward_from_output_inplace(y: In(n), dy_dx: InOut(n), n: Count, slope: Scalar,
        subgradient: Subgradient)
        => leaky_relu_backward_from_output_inplace(y, dy_dx, slope, subgradient);
    /// Absolute-value backward: `dx[i] = sign(z[i]) * dy[i]`, `+0` at `z = ±0` (no subgradient
    /// argument: both sides give 0).
    abs_backward(z: In(n), dy: In(n), dx: Out(n), n: Count) => abs_backward(z, dy, dx);
    /// Absolute-value backward in place.
    abs_backward_inplace(z: In(n), dy_dx: InOut(n), n: Count) => abs_backward_inplace(z, dy_dx);
    /// PReLU backward (input gradient): `dx[i] = dy[i]` on the linear side, else
    /// `slopes[c] * dy[i]`.
    prelu_backward(z: In(n), dy: In(n), dx: Out(n), n: Count, slopes: In(channels),
        channels: Count, layout: Layout(spatial), spatial: Count, subgradient: Subgradient)
        => prelu_backward(z, dy, dx, slopes, layout, subgradient);
    /// PReLU backward in place.
    prelu_backward_inplace(z: In(n), dy_dx: InOut(n), n: Count, slopes: In(channels),
        channels: Count, layout: Layout(spatial), spatial: Count, subgradient: Subgradient)
        => prelu_backward_inplace(z, dy_dx, slopes, layout, subgradient);
    /// PReLU backward from the forward output (exact only with `RECTIFIER_SUBGRADIENT_LEFT` and
    /// every slope `> 0`).
    prelu_backward_from_output(y: In(n), dy: In(n), dx: Out(n), n: Count, slopes: In(channels),
        channels: Count, layout: Layout(spatial), spatial: Count, subgradient: Subgradient)
        => prelu_backward_from_output(y, dy, dx, slopes, layout, subgradient);
    /// PReLU backward from the forward output, in place.
    prelu_backward_from_output_inplace(y: In(n), dy_dx: InOut(n), n: Count,
        slopes: In(channels), channels: Count, layout: Layout(spatial), spatial: Count,
        subgradient: Subgradient)
        => prelu_backward_from_output_inplace(y, dy_dx, slopes, layout, subgradient);
    /// PReLU backward with the slope gradient in one pass: `dx` as `prelu_backward`, and
    /// `da[c]` = the sum of `z[i] * dy[i]` over the elements `i` of channel `c` with
    /// `!(z[i] > 0)`, in a fixed summation order (identical on every backend). `da` has
    /// `channels` elements and is overwritten.
    prelu_backward_with_slope_grad(z: In(n), dy: In(n), dx: Out(n), n: Count,
        slopes: In(channels), da: Out(channels), channels: Count, layout: Layout(spatial),
        spatial: Count, subgradient: Subgradient)
        => prelu_backward_with_slope_grad(z, dy, dx, slopes, da, layout, subgradient);
    /// PReLU backward with the slope gradient, in place (`da` is computed from `dy` before it is
    /// overwritten).
    prelu_backward_with_slope_grad_inplace(z: In(n), dy_dx: InOut(n), n: Count,
        slopes: In(channels), da: Out(channels), channels: Count, layout: Layout(spatial),
        spatial: Count, subgradient: Subgradient)
        => prelu_backward_with_slope_grad_inplace(z, dy_dx, slopes, da, layout, subgradient);

    /// ReLU that also writes the packed mask: bit `i % 64` of `mask[i / 64]` is 1 where ReLU
    /// backward under `subgradient` passes `dy` (unused bits of the last word are 0).
    relu_with_mask(src: In(n), dst: Out(n), n: Count, mask: MaskOut(mask_words),
        mask_words: Count, subgradient: Subgradient) => relu_with_mask(src, dst, mask, subgradient);
    /// ReLU with the mask, in place.
    relu_with_mask_inplace(x: InOut(n), n: Count, mask: MaskOut(mask_words), mask_words: Count,
        subgradient: Subgradient) => relu_with_mask_inplace(x, mask, subgradient);
    /// Leaky ReLU that also writes the packed mask (as `relu_with_mask`).
    leaky_relu_with_mask(src: In(n), dst: Out(n), n: Count, mask: MaskOut(mask_words),
        mask_words: Count, slope: Scalar, subgradient: Subgradient)
        => leaky_relu_with_mask(src, dst, mask, slope, subgradient);
    /// Leaky ReLU with the mask, in place.
    leaky_relu_with_mask_inplace(x: InOut(n), n: Count, mask: MaskOut(mask_words),
        mask_words: Count, slope: Scalar, subgradient: Subgradient)
        => leaky_relu_with_mask_inplace(x, mask, slope, subgradient);
    /// ReLU backward from the packed mask: `dx[i] = bit i ? dy[i] : +0`.
    relu_backward_from_mask(mask: MaskIn(mask_words), mask_words: Count, dy: In(n), dx: Out(n),
        n: Count) => relu_backward_from_mask(mask, dy, dx);
    /// ReLU backward from the mask, in place.
    relu_backward_from_mask_inplace(mask: MaskIn(mask_words), mask_words: Count,
        dy_dx: InOut(n), n: Count) => relu_backward_from_mask_inplace(mask, dy_dx);
    /// Leaky ReLU backward from the packed mask: `dx[i] = bit i ? dy[i] : slope * dy[i]`.
    leaky_relu_backward_from_mask(mask: MaskIn(mask_words), mask_words: Count, dy: In(n),
        dx: Out(n), n: Count, slope: Scalar)
        => leaky_relu_backward_from_mask(mask, dy, dx, slope);
    /// Leaky ReLU backward from the mask, in place.
    leaky_relu_backward_from_mask_inplace(mask: MaskIn(mask_words), mask_words: Count,
        dy_dx: InOut(n), n: Count, slope: Scalar)
        => leaky_relu_backward_from_mask_inplace(mask, dy_dx, slope);
    /// PReLU that also writes the packed mask (as `relu_with_mask`).
    prelu_with_mask(src: In(n), dst: Out(n), n: Count, mask: MaskOut(mask_words),
        mask_words: Count, slopes: In(channels), channels: Count, layout: Layout(spatial),
        spatial: Count, subgradient: Subgradient)
        => prelu_with_mask(src, dst, mask, slopes, layout, subgradient);
    /// PReLU with the mask, in place.
    prelu_with_mask_inplace(x: InOut(n), n: Count, mask: MaskOut(mask_words),
        mask_words: Count, slopes: In(channels), channels: Count, layout: Layout(spatial),
        spatial: Count, subgradient: Subgradient)
        => prelu_with_mask_inplace(x, mask, slopes, layout, subgradient);
    /// PReLU backward from the packed mask: `dx[i] = bit i ? dy[i] : slopes[c] * dy[i]`.
    prelu_backward_from_mask(mask: MaskIn(mask_words), mask_words: Count, dy: In(n), dx: Out(n),
        n: Count, slopes: In(channels), channels: Count, layout: Layout(spatial), spatial: Count)
        => prelu_backward_from_mask(mask, dy, dx, slopes, layout);
    /// PReLU backward from the mask, in place.
    prelu_backward_from_mask_inplace(mask: MaskIn(mask_words), mask_words: Count,
        dy_dx: InOut(n), n: Count, slopes: In(channels), channels: Count,
        layout: Layout(spatial), spatial: Count)
        => prelu_backward_from_mask_inplace(mask, dy_dx, slopes, layout);

    /// Maxout forward: for each of the `groups` groups of `k` elements of `src` (`n == groups *
    /// k`, else `RECTIFIER_NOT_DIVISIBLE` or `RECTIFIER_LENGTH_MISMATCH`), `values[g]` is the
    /// group's maximum and `indices[g]` its position in the group (`0..k`). The first NaN of a
    /// group wins (bits kept); otherwise the earliest maximal element (ties, `-0` vs `+0`
    /// included, go to the earliest position; the winner's bits are kept). `k == 0` is
    /// `RECTIFIER_INVALID_SHAPE`; `k > 2^32` is `RECTIFIER_INDEX_TYPE_TOO_NARROW`.
    maxout(src: In(n), values: Out(groups), indices: IndexOut(groups), n: Count, groups: Count,
        k: Count, layout: MaxoutLayout) => maxout(src, k, layout, values, indices);
    /// Maxout forward, values only (as `maxout`, without the indices; any `k >= 1`).
    maxout_values(src: In(n), values: Out(groups), n: Count, groups: Count, k: Count,
        layout: MaxoutLayout) => maxout_values(src, k, layout, values);
    /// Maxout backward: routes `dy[g]` to the element `indices[g]` of group `g` of `dx` (`n ==
    /// groups * k`), as `mode` says; the other elements get `+0` (overwrite) or are not touched
    /// (accumulate). An index `>= k` is `RECTIFIER_INDEX_OUT_OF_RANGE` (checked before anything
    /// is written).
    maxout_backward(dy: In(groups), indices: IndexIn(groups), dx: Out(n), groups: Count,
        n: Count, k: Count, layout: MaxoutLayout, mode: GradMode)
        => maxout_backward(dy, indices, k, layout, dx, mode);
}

ffi_functions! {
    /// A static, NUL-terminated English sentence for a status code (never NULL; an unknown code
    /// gives "unknown status code"). The string lives as long as the program.
    fn rectifier_status_message(status: rectifier_status) -> *const c_char {
        status_message_ptr(status)
    }

    /// The backends this CPU and build support, as a bit set: bit `b` is set when backend `b`
    /// (a `rectifier_backend` value) is supported. `RECTIFIER_BACKEND_SCALAR` is always there.
    fn rectifier_supported_backends() -> u32 {
        guard_value(1, || backend_bits(crate::backend::supported_backends()))
    }

    /// The backend that the functions without `_on` use: the best one this CPU supports,
    /// lowered (never raised) by the environment variable `RECTIFIER_BACKEND`
    /// (`scalar|avx2|avx512|neon`), read once per process.
    fn rectifier_active_backend() -> rectifier_backend {
        guard_value(RECTIFIER_BACKEND_SCALAR, || backend_code(crate::Backend::active()))
    }

    /// The best backend this CPU supports, ignoring `RECTIFIER_BACKEND`.
    fn rectifier_detected_backend() -> rectifier_backend {
        guard_value(RECTIFIER_BACKEND_SCALAR, || backend_code(crate::Backend::detected()))
    }

    /// The lowercase name of a backend (`"scalar"`, `"avx2"`, `"avx512"`, `"neon"`, `"auto"`), a
    /// static NUL-terminated string, or NULL for an unknown value.
    fn rectifier_backend_name(backend: rectifier_backend) -> *const c_char {
        backend_name_ptr(backend)
    }

    /// The number of 64-bit words of the packed mask of `n` elements: `ceil(n / 64)`.
    fn rectifier_mask_words(n: usize) -> usize {
        crate::mask_words(n)
    }

    /// The library's version, a static NUL-terminated string (`"0.1.0"`).
    fn rectifier_version() -> *const c_char {
        VERSION.as_ptr()
    }
}
