"""The simulator's calibrated figures, each with where it comes from.

Two public sources beside the repository were read to set them (neither is copied here):

- the data notes of ``../shared/data/paysim/README.md``: type counts of the full data set, the
  fraud mechanics and the balance quirks, and the make-up of the weighted sample of steps 1-400
  (4,477 fraud rows, 30,906 legit rows of weight 187.03);
- the parameter files of the original PaySim (``simulator-params/``): the five types, their
  per-hour volume in the operator's logs, and the fraud probability and limits.

The distributions are written as quantile knots of ``log10`` of a value: ``QUANTILE_LEVELS``
holds the cumulative shares and each table the ``log10`` value at those shares, read off the
weighted legit rows of steps 1-400 and rounded to three decimals. Sampling interpolates linearly
between knots, so the simulator reproduces the shape of PaySim's output without carrying any of
its rows. The hour-of-day profile and the fraud share were also taken from PaySim's output,
not from its parameter files: the operator's logs in ``aggregatedTransactions.csv`` peak at
19:00-20:00 with a slow morning ramp, while PaySim's own output (what a model trained here will
meet) is flat from 10:00 to 17:00 and near zero from 03:00 to 07:00 (each of those hours
under 1 % of the hourly mean; 07:00 and 08:00 hold 3 % and 7 % of it, 09:00 the day's level).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Transaction types in the order the tables below use (PaySim's ``transactionsTypes.csv``).
TYPES: Final = ("CASH_IN", "CASH_OUT", "DEBIT", "PAYMENT", "TRANSFER")
CASH_IN, CASH_OUT, DEBIT, PAYMENT, TRANSFER = range(5)

#: Legit type shares: the README's type counts of the full data set minus its fraud rows
#: (TRANSFER 532,909 - 4,097, CASH_OUT 2,237,500 - 4,116), over the 6,354,407 legit rows.
LEGIT_TYPE_SHARES: Final = np.array([1_399_284, 2_233_384, 41_432, 2_151_495, 528_812]) / 6_354_407

#: Cumulative shares at which the quantile tables below are given.
QUANTILE_LEVELS: Final = np.array(
    [0.0, 0.002, 0.01, 0.025, 0.05]
    + [round(0.05 * k, 2) for k in range(2, 19)]
    + [0.95, 0.975, 0.99, 0.998, 1.0]
)


def _knots(*values: float) -> FloatArray:
    table = np.array(values, dtype=np.float64)
    if table.shape != QUANTILE_LEVELS.shape or np.any(np.diff(table) < 0):
        raise ValueError("a quantile table needs one non-decreasing value per quantile level")
    return table


# fmt: off
# --- Legit amounts, log10, per type (weighted legit rows of steps 1-400). PaySim's legit
# amounts are roughly lognormal per type, with a long left tail of small sums.
LEGIT_AMOUNT: Final = (
    _knots(
        1.774, 2.898, 3.48, 3.882, 4.161, 4.47, 4.65, 4.77, 4.863, 4.932, 5.0, 5.059, 5.112, 5.158,
        5.206, 5.253, 5.295, 5.335, 5.383, 5.428, 5.478, 5.536, 5.616, 5.679, 5.747, 5.838, 5.965,
    ),
    _knots(
        1.122, 2.825, 3.45, 3.884, 4.178, 4.478, 4.659, 4.778, 4.865, 4.943, 5.009, 5.07, 5.123,
        5.172, 5.221, 5.264, 5.308, 5.353, 5.398, 5.442, 5.495, 5.552, 5.631, 5.694, 5.757, 5.837,
        6.047,
    ),
    _knots(
        0.643, 0.643, 1.377, 1.857, 2.401, 2.778, 2.94, 3.067, 3.112, 3.228, 3.292, 3.368, 3.414,
        3.458, 3.49, 3.542, 3.613, 3.659, 3.723, 3.773, 3.838, 3.938, 4.071, 4.433, 4.619, 5.023,
        5.023,
    ),
    _knots(
        -0.222, 1.409, 2.24, 2.627, 2.937, 3.24, 3.413, 3.543, 3.64, 3.721, 3.795, 3.858, 3.919,
        3.972, 4.028, 4.078, 4.134, 4.186, 4.244, 4.308, 4.377, 4.463, 4.582, 4.679, 4.78, 4.903,
        5.04,
    ),
    _knots(
        2.872, 3.494, 4.034, 4.422, 4.689, 5.008, 5.16, 5.279, 5.374, 5.458, 5.536, 5.597, 5.654,
        5.7, 5.756, 5.823, 5.878, 5.935, 6.004, 6.073, 6.154, 6.263, 6.413, 6.644, 7.0, 7.295,
        7.713,
    ),
)

# --- Legit senders' balance before, per type: the share that is exactly zero, then the log10
# quantiles of the rest. PaySim draws it apart from the amount, which is why most legit
# TRANSFER and CASH_OUT rows spend more than the sender holds (the balance after is clamped at
# zero, README "legit balance quirks").
LEGIT_SENDER_ZERO: Final = np.array([0.0100, 0.4662, 0.1451, 0.3588, 0.5451])
LEGIT_SENDER_BALANCE: Final = (
    _knots(
        0.845, 1.555, 2.176, 2.576, 3.046, 3.984, 4.212, 4.375, 4.608, 4.827, 5.075, 5.468, 5.818,
        6.076, 6.267, 6.409, 6.519, 6.631, 6.736, 6.828, 6.912, 7.003, 7.191, 7.311, 7.392, 7.451,
        7.52,
    ),
    _knots(
        0.602, 1.541, 2.037, 2.195, 2.48, 3.011, 3.522, 3.809, 4.016, 4.064, 4.199, 4.308, 4.339,
        4.457, 4.511, 4.621, 4.71, 4.791, 4.919, 5.022, 5.16, 5.339, 5.541, 5.718, 5.87, 5.999,
        6.439,
    ),
    _knots(
        0.301, 0.301, 1.381, 1.968, 2.11, 2.938, 3.481, 3.713, 3.885, 4.023, 4.055, 4.198, 4.3,
        4.35, 4.476, 4.632, 4.714, 4.808, 4.908, 5.021, 5.259, 5.345, 5.628, 5.692, 5.797, 5.891,
        5.891,
    ),
    _knots(
        0.477, 1.301, 2.009, 2.258, 2.588, 3.182, 3.715, 3.986, 4.058, 4.201, 4.311, 4.376, 4.487,
        4.585, 4.696, 4.774, 4.899, 5.006, 5.104, 5.223, 5.329, 5.467, 5.63, 5.755, 5.898, 6.125,
        6.672,
    ),
    _knots(
        0.602, 1.437, 2.038, 2.181, 2.492, 3.326, 3.742, 3.954, 4.034, 4.099, 4.21, 4.306, 4.343,
        4.482, 4.593, 4.701, 4.764, 4.901, 5.013, 5.13, 5.258, 5.382, 5.597, 5.703, 5.895, 6.056,
        6.6,
    ),
)

# --- Legit customer recipients' balance before, per type (PAYMENT goes to merchants, whose
# balances PaySim keeps at zero, so its entry is unused). Share exactly zero, then log10
# quantiles of the rest.
LEGIT_RECIPIENT_ZERO: Final = np.array([0.1115, 0.1385, 0.0, 1.0, 0.1115])
LEGIT_RECIPIENT_BALANCE: Final = (
    _knots(
        1.633, 2.848, 3.96, 4.348, 4.697, 5.036, 5.217, 5.333, 5.444, 5.531, 5.618, 5.701, 5.775,
        5.855, 5.934, 6.014, 6.102, 6.19, 6.28, 6.373, 6.486, 6.624, 6.845, 6.996, 7.186, 7.453,
        7.918,
    ),
    _knots(
        1.141, 2.783, 3.793, 4.252, 4.606, 4.976, 5.172, 5.302, 5.414, 5.504, 5.586, 5.676, 5.751,
        5.828, 5.91, 5.99, 6.071, 6.161, 6.257, 6.355, 6.479, 6.626, 6.827, 6.987, 7.139, 7.421,
        7.914,
    ),
    _knots(
        3.635, 3.635, 4.032, 4.095, 4.223, 4.496, 4.626, 4.748, 4.863, 5.084, 5.202, 5.367, 5.448,
        5.581, 5.737, 5.904, 5.965, 6.075, 6.175, 6.222, 6.418, 6.53, 6.766, 6.948, 7.202, 7.79,
        7.79,
    ),
    np.zeros(QUANTILE_LEVELS.shape),
    _knots(
        1.884, 2.787, 3.927, 4.424, 4.775, 5.203, 5.401, 5.548, 5.677, 5.805, 5.906, 6.003, 6.071,
        6.149, 6.215, 6.284, 6.347, 6.429, 6.516, 6.62, 6.735, 6.863, 7.028, 7.213, 7.501, 7.957,
        8.222,
    ),
)
#: Of the legit CASH_OUT and TRANSFER recipients that start at zero, the share whose balance
#: stays zero after (the README's "0 before and after" in 0.04 % of legit TRANSFERs; 0.07 % of
#: legit CASH_OUTs in the weighted sample): 0.0007 / 0.1385 and 0.0004 / 0.1115.
LEGIT_RECIPIENT_STAYS_ZERO: Final = np.array([0.0, 0.005, 0.0, 0.0, 0.0036])
#: Legit TRANSFERs drawn above PaySim's cap on one transfer leave as one capped chunk from a
#: sender holding nothing in about half the cases (13 of the 25 legit TRANSFERs of at least
#: 10,000,000 in the weighted sample, all from senders at zero).
LEGIT_CAPPED_SHARE: Final = 0.52

# --- Fraud (README "fraud mechanics", and the 4,477 fraud rows of the weighted sample).
#: PaySim never moves more than this in one fraudulent transfer; larger balances leave in chunks.
TRANSFER_CAP: Final = 10_000_000.0
#: A takeover whose balance needs this many capped chunks or more is stopped before its last
#: transfer: that transfer moves nothing and is the one PaySim flags (``isFlaggedFraud``), and
#: the cash-out after it is of amount zero. In the weighted sample every flagged row is such a
#: remainder, and every takeover of 30,000,000 or more ends that way (4 of 4; none of the 36
#: takeovers of one or two chunks does). That is the README's 16 flagged rows and 16 zero-amount
#: cash-outs of the full data set.
FLAGGED_AFTER_CHUNKS: Final = 3
#: Balance of a taken-over account, log10 quantiles (the 2,172 takeovers of the weighted
#: sample, a chunked one counted once with its whole balance).
VICTIM_BALANCE: Final = _knots(
    1.805, 2.228, 3.307, 3.866, 4.182, 4.535, 4.774, 4.943, 5.072, 5.192, 5.302, 5.402, 5.513,
    5.605, 5.704, 5.806, 5.919, 6.03, 6.158, 6.27, 6.395, 6.572, 6.813, 6.952, 7.166, 7.487, 7.652,
)
#: The cash-out agent's balance before, on fraud CASH_OUTs: share at zero, then log10 quantiles.
FRAUD_AGENT_ZERO: Final = 0.2999
FRAUD_AGENT_BALANCE: Final = _knots(
    0.545, 2.419, 3.145, 3.694, 4.175, 4.521, 4.778, 4.951, 5.084, 5.201, 5.297, 5.411, 5.517,
    5.603, 5.687, 5.79, 5.899, 5.996, 6.132, 6.276, 6.396, 6.536, 6.767, 6.962, 7.125, 7.435, 7.518,
)
#: Fraud CASH_OUTs whose sender shows no balance (25 of 2,244 in the weighted sample): the
#: amount then does not equal the balance before, one reason the README's share is 98 %, not 100.
FRAUD_CASH_OUT_UNFUNDED: Final = 0.011
#: Fraud TRANSFERs, outside chunks, from a sender showing no balance (6 of 2,172).
FRAUD_TRANSFER_UNFUNDED: Final = 0.003
#: Fraud TRANSFERs to a mule that does not show balances 0 before and after (5 of 2,229; the
#: README gives 99.3 % at 0 over the full data set).
FRAUD_MULE_FUNDED: Final = 0.003

# --- Volume.
#: Legit rows per step at PaySim's own scale: 30,906 legit rows of weight 187.03 over 400 steps.
PAYSIM_LEGIT_ROWS_PER_STEP: Final = 30_906 * 187.03 / 400
#: Share of fraud rows in steps 1-400: 4,477 / (4,477 + 30,906 x 187.03). The full data set's
#: 0.129 % is higher because legit volume falls away after step 400 while fraud keeps its pace.
PAYSIM_FRAUD_RATE: Final = 4_477 / (4_477 + 30_906 * 187.03)
#: Legit volume by hour of day (``step % 24``), relative to the hourly mean (weighted legit rows
#: of steps 1-400). Fraud ignores it: about 11 fraud rows every step, day and night.
HOUR_WEIGHTS: Final = np.array(
    [0.255, 0.105, 0.03, 0.002, 0.002, 0.002, 0.005, 0.026, 0.07, 1.076, 1.684, 1.803,
     1.885, 1.811, 1.761, 1.659, 1.699, 1.618, 2.035, 2.392, 1.952, 0.914, 0.709, 0.502]
)
#: Legit volume by day (``(step - 1) // 24``) relative to the mean of steps 1-400, which the
#: simulator repeats. PaySim's days 2 to 4 are almost empty (its parameter files show the same
#: dip in the operator's logs), so fraud makes most of their rows.
DAY_WEIGHTS: Final = np.array(
    [1.597, 1.302, 0.002, 0.095, 0.032, 1.301, 1.274, 1.265, 1.211, 1.166, 1.194, 1.026,
     1.187, 1.143, 1.152, 1.073, 1.137]
)
# fmt: on
#: Steps in one cycle of the day pattern: PaySim's steps 1-400, the ones measured.
CYCLE_STEPS: Final = 400

#: Account numbers: PaySim's are Java ints (1 to 2,147,483,647), so names have 2 to 11 digits
#: after the letter; about half of them 10 digits long.
ACCOUNT_NUMBER_HIGH: Final = 2_147_483_647
