//! Where the channel of an element comes from, for PReLU (and later its gradients).

use crate::error::Error;

/// How a PReLU input is laid out in memory; the channel count `C` is the slope array's length.
///
/// ```
/// use rectifier::ChannelLayout;
/// // [rows, C] with C = 3: element 4 is in channel 1.
/// assert_eq!(ChannelLayout::ChannelsLast.channel_of(4, 3), 1);
/// // [N, C, S] with C = 3, S = 2: element 4 is in channel 2.
/// assert_eq!(ChannelLayout::ChannelsFirst { spatial: 2 }.channel_of(4, 3), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelLayout {
    /// `[rows, C]` (NHWC and friends): the channel of element `i` is `i % C`.
    ChannelsLast,
    /// `[N, C, S]` (NCHW with `S = H * W`): the channel of element `i` is `(i / S) % C`.
    ChannelsFirst {
        /// `S`, the number of elements per channel per batch item (`H * W`; 1 for `[N, C]`).
        spatial: usize,
    },
}

impl ChannelLayout {
    /// The channel of element `i` when there are `channels` channels.
    #[inline]
    pub fn channel_of(self, i: usize, channels: usize) -> usize {
        match self {
            ChannelLayout::ChannelsLast => i % channels,
            ChannelLayout::ChannelsFirst { spatial } => (i / spatial) % channels,
        }
    }

    /// The number of consecutive elements that share one slope: 1 for channels-last, `S` for
    /// channels-first.
    #[inline]
    pub(crate) fn run(self) -> usize {
        match self {
            ChannelLayout::ChannelsLast => 1,
            ChannelLayout::ChannelsFirst { spatial } => spatial,
        }
    }

    /// Checks that `len` elements fit this layout with `channels` channels.
    pub(crate) fn validate(
        self,
        what: &'static str,
        len: usize,
        channels: usize,
    ) -> Result<(), Error> {
        if channels == 0 {
            return Err(Error::InvalidShape {
                what: "slopes.len() (channel count)",
                expected: "at least 1",
                actual: 0,
            });
        }
        let (period, name) = match self {
            ChannelLayout::ChannelsLast => (Some(channels), "channels"),
            ChannelLayout::ChannelsFirst { spatial } => {
                if spatial == 0 {
                    if len == 0 {
                        return Ok(());
                    }
                    return Err(Error::InvalidShape {
                        what: "spatial",
                        expected: "at least 1 for a non-empty input",
                        actual: 0,
                    });
                }
                (channels.checked_mul(spatial), "channels * spatial")
            }
        };
        match period {
            Some(p) if len.is_multiple_of(p) => Ok(()),
            Some(p) => Err(Error::NotDivisible {
                what,
                len,
                divisor: p,
                divisor_name: name,
            }),
            None => Err(Error::InvalidShape {
                what: "channels * spatial",
                expected: "a product that fits in usize",
                actual: usize::MAX,
            }),
        }
    }
}
