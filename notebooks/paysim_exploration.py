# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # What the PaySim transactions look like, and what that means for the features
#
# This notebook walks through the PaySim data that the FDS model is trained on: how rare fraud
# is, which transaction types it hides in, how much money moves, when it moves, how a fraud
# happens step by step, the quirks of the legit rows, and why the balance columns written
# *after* a transaction must never reach the model. It ends with the feature set that
# `ml/features.py` builds from what it learned here.
#
# **Which data.** By default it reads the real rows in
# `../shared/data/paysim/paysim_weighted_steps001-400.csv` (beside the repository, never part
# of it): every fraud of steps 1-400 and a uniform sample of the legit rows, each legit row
# carrying a `sample_weight` of about 187 so that weighted counts estimate the full population.
# Every count, share and histogram below is weighted when the file has weights. Without that
# file it generates rows with the project's own simulator, `ml.simulator`. Three environment
# variables change this:
#
# - `FDS_NOTEBOOK_DATA`: a PaySim CSV to read instead, or `generated` for generated rows;
# - `FDS_NOTEBOOK_ROWS`: how many rows to generate (default 500,000, about a day and a half of
#   PaySim's traffic);
# - `FDS_NOTEBOOK_FIGURES`: where the PNG figures go (default `notebooks/figures/`).
#
# The prose quotes figures measured on the real rows; the printed tables are computed from
# whatever data the notebook read, so on generated rows they differ (a default generated run
# covers a day and a half rather than 17 days, for one).

# %%
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ml.data import PaysimData, read_paysim
from ml.features import FEATURE_DOCS, FEATURE_NAMES, INPUT_COLUMNS, build_features
from ml.schema import POST_TRANSACTION_COLUMNS, TRANSACTION_TYPES
from ml.simulator import simulate_frames


def find_repository(start: Path) -> Path:
    """The folder holding pyproject.toml: the notebook may run from notebooks/ or the root."""
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder
    raise FileNotFoundError(f"no pyproject.toml in {start} or above: run inside the repository")


REPOSITORY = find_repository(Path.cwd().resolve())
REAL_DATA = REPOSITORY.parent / "shared/data/paysim/paysim_weighted_steps001-400.csv"
DATA_SETTING = os.environ.get("FDS_NOTEBOOK_DATA", "")
ROWS_SETTING = os.environ.get("FDS_NOTEBOOK_ROWS", "500000")
FIGURES = Path(os.environ.get("FDS_NOTEBOOK_FIGURES", REPOSITORY / "notebooks" / "figures"))
FIGURES.mkdir(parents=True, exist_ok=True)
SEED = 7
WEIGHTS_COLUMN = "sample_weight"
FRAUD_TYPES = ("TRANSFER", "CASH_OUT")
FRAUD_CAP = 10_000_000.0
CENT = 0.005  # two amounts closer than half a cent are the same amount

pd.set_option("display.precision", 4)
plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "axes.grid": True})
LEGIT_COLOUR, FRAUD_COLOUR = "tab:blue", "tab:red"
written: list[Path] = []


def save(figure: plt.Figure, name: str) -> None:
    """Write a figure as a small PNG into FIGURES; it is still shown inline."""
    figure.tight_layout()
    path = FIGURES / f"{name}.png"
    figure.savefig(path)
    written.append(path)


# %% [markdown]
# ## Choosing the data
#
# The real weighted sample when it is there, otherwise generated rows. Generated rows are
# written to a temporary CSV and read back, so that every path goes through
# `ml.data.read_paysim`, the same parser as `fds train` and `fds evaluate`.


# %%
def generated_frame(rows: int) -> pd.DataFrame:
    """The project's own generated rows, from its PaySim simulator."""
    print(f"generating {rows:,} rows with ml.simulator (seed {SEED}, PaySim's fraud rate)")
    return pd.concat(list(simulate_frames(seed=SEED, rows=rows)), ignore_index=True)


def read_csv(path: Path) -> PaysimData:
    """Read a PaySim CSV, with its sample weights when it has a weights column."""
    with path.open(newline="") as handle:
        header = next(csv.reader(handle), [])
    return read_paysim(path, weights_column=WEIGHTS_COLUMN if WEIGHTS_COLUMN in header else None)


def read_generated(rows_setting: str) -> PaysimData:
    """Generate rows, then read them back through the same parser as a file."""
    if not (rows_setting.isdigit() and int(rows_setting) > 0):
        raise ValueError(
            f"FDS_NOTEBOOK_ROWS={rows_setting!r} is not a number of rows: give a whole number "
            "of 1 or more, for example 500000"
        )
    with tempfile.TemporaryDirectory(prefix="fds-notebook-") as scratch:
        path = Path(scratch) / "generated.csv"
        generated_frame(int(rows_setting)).to_csv(path, index=False)
        return read_paysim(path)


if DATA_SETTING and DATA_SETTING != "generated":
    source = Path(DATA_SETTING)
    if not source.is_file():
        raise FileNotFoundError(
            f"FDS_NOTEBOOK_DATA={DATA_SETTING!r} is not a file: give a PaySim CSV, "
            "or 'generated' for generated rows, or unset it"
        )
    data = read_csv(source)
elif not DATA_SETTING and REAL_DATA.is_file():
    source = REAL_DATA
    data = read_csv(source)
else:
    source = Path("generated rows")
    data = read_generated(ROWS_SETTING)

weights_column = WEIGHTS_COLUMN if data.weights is not None else None
frame = data.frame
frame["weight"] = data.weights if data.weights is not None else 1.0
frame["hour"] = frame["step"] % 24
frame["day"] = frame["step"] // 24 + 1
is_fraud = frame["isFraud"] == 1
legit, fraud = frame[~is_fraud], frame[is_fraud]

print(f"data: {source}")
print(f"weights: {weights_column or 'none (every row counts once)'}")
print(f"rows: {len(frame):,}, steps {frame['step'].min()}-{frame['step'].max()}")
print(f"fingerprint: {data.fingerprint[:16]}, rows left out: {data.bad_row_count}")


# %%
def weighted(rows: pd.DataFrame) -> float:
    """How many transactions of the population these rows stand for."""
    return float(rows["weight"].sum())


def share(part: pd.DataFrame, whole: pd.DataFrame) -> float:
    """Weighted share of ``whole`` that ``part`` is; NaN when ``whole`` is empty."""
    total = weighted(whole)
    return weighted(part) / total if total else float("nan")


def percent(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{100 * value:.2f} %"


# %% [markdown]
# ## Class imbalance
#
# Fraud is rare, and how rare depends on whether the sampling is undone. The file itself is
# 12.7 % fraud on the real rows, because it keeps every fraud and only a sample of the legit
# rows; weighted, fraud is 0.077 % of the transactions of steps 1-400 (the full 743 steps
# have 0.13 %: fraud keeps its pace while legit traffic thins out in the last weeks). A model
# or a metric that ignores the weights sees fraud about 160 times as common as it is:
# precision in particular is overstated, since every false positive stands for 187 legit
# transactions. So training uses the weights, and every figure FDS reports is weighted.

# %%
imbalance = pd.DataFrame(
    {
        "rows in the file": [len(legit), len(fraud)],
        "transactions they stand for": [weighted(legit), weighted(fraud)],
    },
    index=["legit", "fraud"],
)
fraud_shares = imbalance.loc["fraud"] / imbalance.sum()
print(imbalance.to_string(float_format=lambda value: f"{value:,.0f}"))
print(f"fraud share of the rows: {100 * fraud_shares.iloc[0]:.3f} %")
print(f"fraud share of the transactions they stand for: {100 * fraud_shares.iloc[1]:.3f} %")
if weights_column:
    overstated = fraud_shares.iloc[0] / fraud_shares.iloc[1]
    print(f"unweighted, fraud looks {overstated:,.0f} times as common as it is")

figure, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for axis, column in zip(axes, imbalance.columns, strict=True):
    bars = axis.bar(
        imbalance.index, imbalance[column].to_numpy(), color=[LEGIT_COLOUR, FRAUD_COLOUR]
    )
    axis.bar_label(bars, fmt="{:,.0f}")
    axis.set_yscale("log")
    axis.set_title(f"{column} (log scale)\nfraud {100 * fraud_shares[column]:.3f} %")
save(figure, "01_class_imbalance")

# %% [markdown]
# ## The type mix
#
# Five types: CASH_IN (a customer pays cash in at a merchant agent), CASH_OUT (takes cash
# out), PAYMENT (pays a merchant), TRANSFER (sends money to another customer) and DEBIT (to a
# bank). On the real rows, CASH_OUT and PAYMENT are about a third of the traffic each, CASH_IN
# a fifth, TRANSFER 8 % and DEBIT under 1 %. Fraud occurs **only** in TRANSFER and CASH_OUT,
# in about equal numbers. The type is therefore the first thing the model looks at (one-hot
# `type_*` features), and it must be validated: an unknown type cannot be scored.

# %%
mix = frame.pivot_table(
    index="type", columns="isFraud", values="weight", aggfunc="sum", fill_value=0.0
).reindex(index=list(TRANSACTION_TYPES), columns=[0, 1], fill_value=0.0)
mix.columns = ["legit", "fraud"]
mix["share of all"] = mix.sum(axis=1) / mix.to_numpy().sum()
mix["fraud share of the type"] = mix["fraud"] / mix[["legit", "fraud"]].sum(axis=1)
print(
    mix.to_string(
        formatters={
            "legit": "{:,.0f}".format,
            "fraud": "{:,.0f}".format,
            "share of all": percent,
            "fraud share of the type": percent,
        }
    )
)

figure, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].bar(mix.index, mix["share of all"], color="grey")
axes[0].set_title("share of all transactions, by type")
axes[1].bar(mix.index, mix["fraud"], color=FRAUD_COLOUR)
axes[1].set_title("fraudulent transactions, by type")
for axis in axes:
    axis.tick_params(axis="x", labelrotation=30)
save(figure, "02_type_mix")

# %% [markdown]
# ## Amounts per type
#
# Amounts span many orders of magnitude, so they are drawn on a log scale (amounts of 0 are
# drawn at one cent), each curve as the share of its type's rows per bin. DEBIT and PAYMENT
# are small, CASH_IN and CASH_OUT larger, TRANSFER the largest; a few legit TRANSFERs run past
# 10,000,000 (the dotted line), fraud never does (see the mechanics below). Fraud amounts
# spread wider than the legit ones of the same type, with a pile at the cap; in CASH_OUT they
# sit higher, in TRANSFER about level, and in both they overlap the legit ones widely. The
# amount helps but cannot decide alone. Trees need no log transform, so the feature is the
# raw `amount`.

# %%
bins = np.logspace(-2, 8, 61)
figure, axes = plt.subplots(1, len(TRANSACTION_TYPES), figsize=(15, 3.2), sharex=True)
for axis, kind in zip(axes, TRANSACTION_TYPES, strict=True):
    for rows, colour, label in ((legit, LEGIT_COLOUR, "legit"), (fraud, FRAUD_COLOUR, "fraud")):
        rows = rows[rows["type"] == kind]
        if rows.empty:
            continue
        axis.hist(
            rows["amount"].clip(lower=0.01),
            bins=bins,
            weights=rows["weight"] / weighted(rows),
            histtype="step",
            linewidth=1.5,
            color=colour,
            label=label,
        )
    axis.set_xscale("log")
    axis.axvline(FRAUD_CAP, color="black", linestyle=":", linewidth=1)
    axis.set_title(kind)
    axis.set_xlabel("amount")
axes[0].set_ylabel("share of the type's rows (weighted)")
axes[-1].legend(loc="upper left")
save(figure, "03_amount_per_type")

print(frame.groupby(["type", "isFraud"])["amount"].median().unstack().round(2).to_string())

# %% [markdown]
# ## When transactions happen
#
# One step is one hour of simulated time, starting at midnight, so the hour of day is
# `step % 24`. Legit traffic follows a day/night cycle on the real rows: almost nothing
# between 03:00 and 07:00, a plateau through the day and a peak at 18:00-19:00. Fraud does not
# sleep: about the same number of frauds every hour. So the *fraud share* of the traffic is
# highest at night: a fifth to a quarter of all transactions between 03:00 and 06:00, under
# 0.1 % in the afternoon. A transfer that empties an account at 04:00 is more suspicious than
# the same transfer at 18:00; that is the `hour_of_day` feature.
#
# The volume of legit traffic also varies strongly from day to day (days 3 to 5 of the real
# rows are almost empty of it, while fraud goes on as before), so the fraud share of a period
# depends on the period. This is one reason the model is trained on earlier steps and measured
# on later ones, never on a random split of rows: a live model meets days it has never seen,
# and a random split would hide how it copes with them.

# %%
hours = range(24)
by_hour = pd.DataFrame(
    {
        "legit": legit.groupby("hour")["weight"].sum(),
        "fraud": fraud.groupby("hour")["weight"].sum(),
    }
).reindex(hours, fill_value=0.0)
by_hour["fraud share"] = by_hour["fraud"] / by_hour[["legit", "fraud"]].sum(axis=1)

figure, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for column, colour in (("legit", LEGIT_COLOUR), ("fraud", FRAUD_COLOUR)):
    total = by_hour[column].sum()
    axes[0].plot(hours, by_hour[column] / total if total else by_hour[column], "o-", color=colour)
axes[0].legend(["legit", "fraud"])
axes[0].set_title("share of each class's transactions, by hour")
axes[1].bar(hours, by_hour["fraud share"], color=FRAUD_COLOUR)
axes[1].set_title("fraud share of all transactions in that hour")
for axis in axes:
    axis.set_xlabel("hour of day (step % 24)")
    axis.set_xticks(range(0, 24, 3))
save(figure, "04_hour_of_day")
print(by_hour.to_string(float_format=lambda value: f"{value:,.4f}"))

# %%
by_day = pd.DataFrame(
    {
        "legit": legit.groupby("day")["weight"].sum(),
        "fraud": fraud.groupby("day")["weight"].sum(),
    }
).fillna(0.0)

figure, axis = plt.subplots(figsize=(11, 3.2))
axis.bar(by_day.index, by_day["legit"], color=LEGIT_COLOUR, label="legit")
axis.set_xticks(by_day.index)
axis.set_xlabel("day (step // 24 + 1)")
axis.set_ylabel("legit transactions (weighted)")
fraud_axis = axis.twinx()
fraud_axis.plot(by_day.index, by_day["fraud"], "o-", color=FRAUD_COLOUR, label="fraud")
fraud_axis.set_ylabel("fraudulent transactions")
fraud_axis.set_ylim(bottom=0)
fraud_axis.grid(False)
axis.set_title("transactions per day")
figure.legend(loc="lower left", bbox_to_anchor=(0.235, 0.3))
save(figure, "05_daily_volume")

# %% [markdown]
# ## How a fraud happens
#
# PaySim's fraudster takes over a customer's account, **TRANSFERs its whole balance** to a
# mule account, and the money is **cashed out** by a CASH_OUT of the same amount in the same
# step. The rows show it in several ways:
#
# - the amount equals the sender's balance before the transaction in about 98 % of fraud rows
#   on the real data, and in no legit row: the account is emptied to the cent;
# - the mule is fresh: the recipient of a fraud TRANSFER has a balance of 0 before (and after)
#   in about 99 % of them, against 0.04 % of the legit TRANSFERs;
# - nearly every fraud TRANSFER has a fraud CASH_OUT of exactly its amount in its step. The
#   account names do *not* link them (the CASH_OUT's sender is not the TRANSFER's recipient in
#   PaySim's output), so the pair can be seen in the data but not followed by account;
# - a single fraud never moves more than 10,000,000: every fraud from a balance above that
#   moves exactly 10,000,000, and the sender is left with the rest, so it is not "drained";
# - a few fraud CASH_OUTs have an amount of 0: the account was already empty.
#
# The emptied account, the fresh mule and the cap are what `drains_sender`,
# `amount_over_balance`, `balance_left` and `dest_empty` capture, all from the balances
# *before* the transaction (the "after" half of the fresh-mule test is shown here only to
# describe the data; the feature reads the balance before alone). The pairing with the
# cash-out cannot be a feature: the cash-out comes after the transfer, and the names do not
# link them.


# %%
def drains(rows: pd.DataFrame) -> pd.Series:
    """The amount is the sender's whole balance before the transaction, to the cent."""
    return ((rows["amount"] - rows["oldbalanceOrg"]).abs() < CENT) & (rows["amount"] > 0)


def fresh_recipient(rows: pd.DataFrame) -> pd.Series:
    return (rows["oldbalanceDest"] < CENT) & (rows["newbalanceDest"] < CENT)


risky = frame[frame["type"].isin(FRAUD_TYPES)]
fraud_transfers = fraud[fraud["type"] == "TRANSFER"]
fraud_cash_outs = fraud[fraud["type"] == "CASH_OUT"]
legit_transfers = legit[legit["type"] == "TRANSFER"]
cashed_out = fraud_transfers.merge(
    fraud_cash_outs[["step", "amount"]].drop_duplicates(), on=["step", "amount"], how="inner"
)
above_cap = fraud[fraud["oldbalanceOrg"] > FRAUD_CAP]

mechanics = pd.Series(
    {
        "fraud rows whose amount is the whole balance": share(fraud[drains(fraud)], fraud),
        "legit rows whose amount is the whole balance": share(legit[drains(legit)], legit),
        "fraud TRANSFERs to a fresh recipient (0 before and after)": share(
            fraud_transfers[fresh_recipient(fraud_transfers)], fraud_transfers
        ),
        "legit TRANSFERs to a fresh recipient": share(
            legit_transfers[fresh_recipient(legit_transfers)], legit_transfers
        ),
        "fraud TRANSFERs with a fraud CASH_OUT of that amount in that step": (
            len(cashed_out) / len(fraud_transfers) if len(fraud_transfers) else float("nan")
        ),
        "fraud from a balance over 10,000,000 that moves exactly 10,000,000": (
            (above_cap["amount"] == FRAUD_CAP).mean() if len(above_cap) else float("nan")
        ),
    }
)
print(mechanics.map(percent).to_string())
print(f"fraud rows over 10,000,000: {(fraud['amount'] > FRAUD_CAP).sum()}")
print(f"legit rows over 10,000,000: {(legit['amount'] > FRAUD_CAP).sum()}")
print(f"fraud rows of amount 0: {(fraud['amount'] == 0).sum()}")
print(f"legit rows of amount 0: {(legit['amount'] == 0).sum()}")
print(f"rows flagged by isFlaggedFraud: {frame['isFlaggedFraud'].sum()}")

# %%
figure, axes = plt.subplots(1, 2, figsize=(11, 4))
# A sample of the legit rows keeps the plot readable (and the PNG small).
sample = risky[risky["isFraud"] == 0]
sample = sample.sample(n=min(len(sample), 5000), random_state=SEED)
for rows, colour, label in ((sample, LEGIT_COLOUR, "legit"), (fraud, FRAUD_COLOUR, "fraud")):
    axes[0].scatter(
        rows["oldbalanceOrg"].clip(lower=1),
        rows["amount"].clip(lower=1),
        s=4,
        alpha=0.4,
        color=colour,
        label=label,
    )
axes[0].plot([1, 1e9], [1, 1e9], color="black", linewidth=0.8, linestyle="--")
axes[0].axhline(FRAUD_CAP, color="black", linewidth=0.8, linestyle=":")
axes[0].set(xscale="log", yscale="log", xlabel="sender's balance before", ylabel="amount")
axes[0].set_title("TRANSFER and CASH_OUT: fraud sits on the diagonal\n(0 drawn at 1)")
axes[0].legend(markerscale=4)

fraud_amounts = fraud["amount"].clip(lower=0.01)
axes[1].hist(fraud_amounts, bins=np.logspace(-2, 7.5, 58), color=FRAUD_COLOUR)
axes[1].axvline(FRAUD_CAP, color="black", linestyle=":", label="10,000,000")
axes[1].set(xscale="log", xlabel="amount (0 drawn at 0.01)", ylabel="fraud rows")
axes[1].set_title("fraud amounts: capped at 10,000,000,\na few cash-outs of 0")
axes[1].legend()
save(figure, "06_fraud_mechanics")

# %% [markdown]
# ## The balance quirks of legit rows
#
# PaySim's legit rows are not bookkeeping-exact, and a model must not mistake the quirks for
# fraud:
#
# - the sender's balances often do not add up: on the real rows, in about 90 % of legit
#   CASH_OUTs and 96 % of legit TRANSFERs, balance before minus amount is not the balance
#   after. In over 99 % of those the amount exceeds the balance and the balance after is
#   clamped at 0, and about half of them start from a balance of 0: PaySim lets customers
#   spend money their balance does not show;
# - merchants (`M…` accounts, the recipients of every PAYMENT) have balances of 0 before and
#   after, always: their balance is not tracked;
# - CASH_IN *lowers* the recipient's balance in most rows (86 % on the real rows): the
#   merchant agent takes the cash and hands out e-money, the opposite of the other types.
#
# Hence `dest_is_merchant` (a zero balance means nothing for a merchant) and the care taken
# with ratios: `amount_over_balance` is defined for a balance of 0.


# %%
def sender_adds_up(rows: pd.DataFrame) -> pd.Series:
    """Balance after = before - amount (before + amount for CASH_IN), to the cent."""
    sign = np.where(rows["type"] == "CASH_IN", 1.0, -1.0)
    expected = rows["oldbalanceOrg"] + sign * rows["amount"]
    return (expected - rows["newbalanceOrig"]).abs() < CENT


def weighted_share_by_type(flags: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """Weighted share of the rows of each type for which each yes/no column holds."""
    weight = rows["weight"]
    totals = weight.groupby(rows["type"]).sum()
    hits = flags.astype(float).mul(weight, axis=0).groupby(rows["type"]).sum()
    return hits.div(totals, axis=0).reindex(list(TRANSACTION_TYPES))


quirk_flags = pd.DataFrame(
    {
        "sender's balances do not add up": ~sender_adds_up(legit),
        "sender starts at 0": legit["oldbalanceOrg"] < CENT,
        "recipient is a merchant with balances 0": (
            legit["nameDest"].str.startswith("M") & fresh_recipient(legit)
        ),
        "recipient's balance goes down": legit["newbalanceDest"] < legit["oldbalanceDest"] - CENT,
    }
)
quirks = weighted_share_by_type(quirk_flags, legit)
print(quirks.map(percent).to_string())

figure, axis = plt.subplots(figsize=(10, 3.6))
quirks.plot.bar(ax=axis, width=0.8)
axis.set_ylabel("share of legit rows of the type")
axis.set_ylim(0, 1.3)
axis.set_yticks(np.linspace(0, 1, 6))
axis.tick_params(axis="x", labelrotation=0)
axis.legend(fontsize=8, loc="upper center", ncols=4)
axis.set_title("quirks of the legit rows")
save(figure, "07_legit_balance_quirks")

# %% [markdown]
# ## Why the balances *after* the transaction leak the label
#
# The data set's own description says that the fraudulent transactions were **cancelled**.
# Its balance columns after the transaction, `newbalanceOrig` and `newbalanceDest`, were
# written once the simulator had decided the outcome, and they record it:
#
# - the *sender's balance error* (`newbalanceOrig + amount - oldbalanceOrg`) is exactly 0 in
#   99 % of the fraud rows on the real data, and in about one legit TRANSFER or CASH_OUT in
#   ten, because legit balances are clamped at 0 and fraud balances are not. Together with
#   "the balance after is 0" it **separates perfectly**: it picks 98 % of the frauds and not
#   a single legit row;
# - the *recipient's balance error* (`oldbalanceDest + amount - newbalanceDest`, divided here
#   by the amount) is 1 for almost every fraud TRANSFER: none of the money arrived, the
#   recipient's balance stayed at 0. On legit TRANSFERs it is mostly 0: the money arrived.
#   "The money never reached the recipient" picks 99 % of the fraud TRANSFERs and one legit
#   TRANSFER row in 2,493.
#
# That is leakage, not a pattern. These columns describe what happened to the transaction
# after it was judged, which is exactly what the model is asked to predict; at authorisation
# the balance after does not exist yet. The best a live system could do is compute it as
# `oldbalanceOrg - amount`, which makes the sender's balance error 0 for every transaction
# that the balance covers: a model that learned "error 0 means fraud" would then freeze
# honest customers by the thousand, and its test figures would have promised the opposite.
# The same goes for `isFlaggedFraud`, set by the simulator's own rule on a handful of fraud
# rows (16 in the full data set), and of course for `isFraud`.
#
# The perfect rule above picks, on these rows, almost the same transactions as
# `drains_sender` ("the amount is the sender's whole balance before"), which is known at
# authorisation: the table shows both, and the handful of rows they disagree on is printed
# below it (on the real rows, the zero-amount cash-outs are among them). So the model does
# not need the leaking columns to find this signal, and must not be given them to find it.

# %%
errors = risky.assign(
    sender_error=risky["newbalanceOrig"] + risky["amount"] - risky["oldbalanceOrg"],
    recipient_error=(risky["oldbalanceDest"] + risky["amount"] - risky["newbalanceDest"])
    / risky["amount"].where(risky["amount"] > 0),
)
risky_fraud = errors["isFraud"] == 1
transfers = errors["type"] == "TRANSFER"
sender_error_zero = errors["sender_error"].abs() < CENT
sender_emptied = sender_error_zero & (errors["newbalanceOrig"] < CENT)
money_vanished = transfers & (errors["amount"] > 0) & fresh_recipient(errors)


def rule_figures(caught: pd.Series, population: pd.Series) -> dict[str, float | int]:
    """Weighted recall and precision of a yes/no rule on some rows, and the legit rows it picks."""
    picked = errors[caught & population]
    picked_fraud = picked[picked["isFraud"] == 1]
    return {
        "recall": share(picked_fraud, errors[risky_fraud & population]),
        "precision": share(picked_fraud, picked),
        "legit rows picked": int((picked["isFraud"] == 0).sum()),
    }


everything = pd.Series(True, index=errors.index)
leak_table = pd.DataFrame(
    {
        "sender's balance error is 0 (leaks)": rule_figures(sender_error_zero, everything),
        "... and the balance after is 0 (leaks)": rule_figures(sender_emptied, everything),
        "TRANSFERs: the money never arrived (leaks)": rule_figures(money_vanished, transfers),
        "drains_sender, from the balance before (fair)": rule_figures(drains(errors), everything),
    }
).T
print(f"TRANSFER and CASH_OUT rows, {'weighted' if weights_column else 'unweighted'}:")
print(
    leak_table.to_string(
        formatters={"recall": percent, "precision": percent, "legit rows picked": "{:,.0f}".format}
    )
)
disagreeing = int((sender_emptied != drains(errors)).sum())
print(f"rows where the perfect leaking rule and drains_sender disagree: {disagreeing}")

figure, axes = plt.subplots(1, 2, figsize=(11, 3.6))
for rows, colour, label in (
    (errors[~risky_fraud], LEGIT_COLOUR, "legit"),
    (errors[risky_fraud], FRAUD_COLOUR, "fraud"),
):
    sender = np.sign(rows["sender_error"]) * np.log10(1 + rows["sender_error"].abs())
    axes[0].hist(
        sender,
        bins=np.linspace(-9, 9, 73),
        weights=rows["weight"] / weighted(rows),
        histtype="step",
        linewidth=1.5,
        color=colour,
        label=label,
    )
    received = rows[(rows["type"] == "TRANSFER") & rows["recipient_error"].notna()]
    axes[1].hist(
        received["recipient_error"].clip(-1, 2),
        bins=np.linspace(-1, 2, 61),
        weights=received["weight"] / weighted(received) if len(received) else None,
        histtype="step",
        linewidth=1.5,
        color=colour,
        label=label,
    )
axes[0].set(xlabel="sign · log10(1 + |error|)", ylabel="share of the class's rows (weighted)")
axes[0].set_title("sender's balance error, TRANSFER and CASH_OUT\n0 = the balances add up")
axes[1].set(xlabel="recipient's balance error / amount (clipped to [-1, 2])")
axes[1].set_title("recipient's balance error, TRANSFER\n1 = none of the money arrived")
for axis in axes:
    axis.legend()
save(figure, "08_post_balance_leak")

# %% [markdown]
# ## What it means for the features
#
# The features are built by one function, `ml.features.build_features`, for training and for
# the consumer alike, and [`ml/features.py`](../ml/features.py) documents them one by one:
# what each is, why it helps, and that it is known when the transaction is authorised. What
# this notebook showed maps onto them:
#
# - the **type**, one-hot: fraud lives only in TRANSFER and CASH_OUT, and an unknown type is
#   refused rather than scored;
# - the **amount** and the **balances before** (`oldbalanceOrg`, `oldbalanceDest`): known at
#   authorisation, and fair;
# - the **account-emptying signature**, computed from the balance before: whether the amount
#   is the whole balance (`drains_sender`), the amount over the balance, and what the balance
#   would keep. A chunk of 10,000,000 leaves money behind, so it is not "drained", and a
#   zero-amount cash-out moves nothing; each is a pattern of its own (`full_chunk`,
#   `moves_nothing`);
# - the **fresh mule** (the recipient's balance before is 0), without mistaking a merchant's
#   untracked zero balance for one (the recipient's kind, from its `M`/`C` name);
# - the **hour of day** (`step % 24`): the night, when fraud is a larger share of the traffic.
#
# Never read: `newbalanceOrig`, `newbalanceDest`, `isFlaggedFraud` and `isFraud`. The builder
# takes only the columns in `INPUT_COLUMNS`, none of which is written after the transaction,
# and the test suite fails if a feature reads any of them.
#
# What the data cannot give is per-account history: senders are almost never reused in
# PaySim, and the TRANSFER and the CASH_OUT of one fraud are not linked by account name, so
# a feature such as "this account just received a transfer" would have nothing to learn from
# here, however useful it would be on real traffic.

# %%
leaking = sorted(set(INPUT_COLUMNS) & {*POST_TRANSACTION_COLUMNS, "isFraud"})
assert not leaking, f"the feature builder reads {leaking}, which leak the label"
print(f"the builder reads only: {', '.join(INPUT_COLUMNS)}")

features = pd.DataFrame(
    build_features(frame[list(INPUT_COLUMNS)]), columns=list(FEATURE_NAMES), index=frame.index
)
feature_table = pd.DataFrame(
    {
        label: np.average(features[mask], axis=0, weights=frame.loc[mask, "weight"])
        for label, mask in (("legit mean", ~is_fraud), ("fraud mean", is_fraud))
        if mask.any()
    },
    index=list(FEATURE_NAMES),
)
print(f"{len(FEATURE_NAMES)} features (ml.features.FEATURE_NAMES), weighted mean per class:")
print(feature_table.to_string(float_format=lambda value: f"{value:,.4f}"))
print()
for name in FEATURE_NAMES:
    print(f"{name}: {FEATURE_DOCS[name]}")

# %% [markdown]
# ## The figures written

# %%
for path in written:
    print(f"{path.name}: {path.stat().st_size:,} bytes")
