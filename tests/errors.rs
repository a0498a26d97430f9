//! Every error path: the right typed error, a message naming expected and actual, and no output
//! written — on every backend.

mod common;

use common::backends;
use rectifier::{ChannelLayout, Error, Rectifier};

const SENTINEL: f32 = 7.25;

/// Runs `f` on a sentinel-filled output and checks that it fails with `want` and writes nothing.
#[track_caller]
fn expect_err(
    r: Rectifier,
    want: Error,
    f: impl FnOnce(Rectifier, &mut [f32]) -> Result<(), Error>,
    len: usize,
) {
    let mut out = vec![SENTINEL; len];
    let got = f(r, &mut out).expect_err("expected an error");
    assert_eq!(got, want, "on {}", r.backend());
    assert!(
        out.iter().all(|v| *v == SENTINEL),
        "output written on error ({})",
        r.backend()
    );
    assert!(!got.to_string().is_empty());
}

#[test]
fn length_mismatch() {
    for r in backends() {
        let src = [1.0f32; 5];
        let want = Error::LengthMismatch {
            what: "dst",
            expected: 5,
            actual: 4,
        };
        expect_err(r, want.clone(), |r, d| r.relu(&src, d), 4);
        expect_err(r, want.clone(), |r, d| r.abs(&src, d), 4);
        expect_err(r, want.clone(), |r, d| r.leaky_relu(&src, d, 0.1), 4);
        expect_err(
            r,
            want.clone(),
            |r, d| r.prelu(&src, d, &[0.1], ChannelLayout::ChannelsLast),
            4,
        );
    }
    let msg = Error::LengthMismatch {
        what: "dst",
        expected: 5,
        actual: 4,
    }
    .to_string();
    assert!(
        msg.contains('5') && msg.contains('4') && msg.contains("dst"),
        "{msg}"
    );
}

#[test]
fn non_finite_slopes() {
    for r in backends() {
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let src = [1.0f32, -1.0];
            let want = Error::NonFiniteSlope {
                index: 0,
                value: bad as f64,
            };
            // NaN != NaN, so compare through the message for NaN.
            let mut out = [SENTINEL; 2];
            let e = r.leaky_relu(&src, &mut out, bad).unwrap_err();
            assert!(matches!(e, Error::NonFiniteSlope { index: 0, .. }));
            assert_eq!(e.to_string(), want.to_string());
            assert_eq!(out, [SENTINEL; 2]);
            let e = r.leaky_relu_inplace(&mut out, bad).unwrap_err();
            assert!(matches!(e, Error::NonFiniteSlope { index: 0, .. }));
            assert_eq!(out, [SENTINEL; 2]);
            // The bad slope is reported by index.
            let e = r
                .prelu(
                    &[1.0f32, -1.0, 2.0],
                    &mut [SENTINEL; 3],
                    &[0.1, 0.2, bad],
                    ChannelLayout::ChannelsLast,
                )
                .unwrap_err();
            assert!(matches!(e, Error::NonFiniteSlope { index: 2, .. }), "{e}");
            assert!(e.to_string().contains("slope 2") && e.to_string().contains("finite"));
            let mut x = [SENTINEL; 3];
            let e = r
                .prelu_inplace(&mut x, &[bad, 0.2, 0.3], ChannelLayout::ChannelsLast)
                .unwrap_err();
            assert!(matches!(e, Error::NonFiniteSlope { index: 0, .. }));
            assert_eq!(x, [SENTINEL; 3]);
        }
    }
}

#[test]
fn prelu_shapes() {
    for r in backends() {
        let src = [1.0f32; 6];
        expect_err(
            r,
            Error::InvalidShape {
                what: "slopes.len() (channel count)",
                expected: "at least 1",
                actual: 0,
            },
            |r, d| r.prelu(&src, d, &[], ChannelLayout::ChannelsLast),
            6,
        );
        expect_err(
            r,
            Error::NotDivisible {
                what: "src",
                len: 6,
                divisor: 4,
                divisor_name: "channels",
            },
            |r, d| r.prelu(&src, d, &[0.1; 4], ChannelLayout::ChannelsLast),
            6,
        );
        expect_err(
            r,
            Error::NotDivisible {
                what: "src",
                len: 6,
                divisor: 4,
                divisor_name: "channels * spatial",
            },
            |r, d| {
                r.prelu(
                    &src,
                    d,
                    &[0.1; 2],
                    ChannelLayout::ChannelsFirst { spatial: 2 },
                )
            },
            6,
        );
        expect_err(
            r,
            Error::InvalidShape {
                what: "spatial",
                expected: "at least 1 for a non-empty input",
                actual: 0,
            },
            |r, d| {
                r.prelu(
                    &src,
                    d,
                    &[0.1; 2],
                    ChannelLayout::ChannelsFirst { spatial: 0 },
                )
            },
            6,
        );
        expect_err(
            r,
            Error::NotDivisible {
                what: "x",
                len: 6,
                divisor: 4,
                divisor_name: "channels",
            },
            |r, d| {
                d.copy_from_slice(&[SENTINEL; 6]);
                r.prelu_inplace(d, &[0.1; 4], ChannelLayout::ChannelsLast)
            },
            6,
        );
        // An empty input with S = 0 is a valid empty tensor.
        r.prelu::<f32>(
            &[],
            &mut [],
            &[0.1; 2],
            ChannelLayout::ChannelsFirst { spatial: 0 },
        )
        .unwrap();
        // Overflowing C * S is an error, not a panic.
        let e = r
            .prelu(
                &src,
                &mut [0.0; 6],
                &[0.1; 2],
                ChannelLayout::ChannelsFirst {
                    spatial: usize::MAX,
                },
            )
            .unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidShape {
                    what: "channels * spatial",
                    ..
                }
            ),
            "{e}"
        );
    }
    let msg = Error::NotDivisible {
        what: "src",
        len: 6,
        divisor: 4,
        divisor_name: "channels",
    }
    .to_string();
    assert!(
        msg.contains("6") && msg.contains("multiple of channels = 4"),
        "{msg}"
    );
}
