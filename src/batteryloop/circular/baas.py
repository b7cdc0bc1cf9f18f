"""Battery-as-a-service: subscription pricing, buyout, swap pricing and warranty accounting.

- :func:`subscription_price` — the monthly fee that recovers a pack's cost net of its discounted
  residual value over the term at a discount rate, plus a margin and operating cost (an annuity).
  :func:`implied_annual_rate` inverts it: which return a published fee (NIO, ``nio_baas``) implies.
- :func:`subscription_for_pack` — the same for a pack, with its residual value from the route decision: what the
  operator is paid for the retired pack at the term's end (:func:`retired_pack_price_usd`, the figure the
  pilot's books pay a retired pack's seller — one figure for the fee and the books).
- :func:`nio_buyout_price` / :func:`buyout_schedule` — NIO's rule: RMB 70,000, reduced by RMB 460 for
  each monthly payment made in years 2 to 5 (months 13–60); every number from ``nio_baas``.
- :func:`swap_price` — (electricity price + service fee) × kWh swapped, at least 20 kWh.
- :func:`warranty_provision` — the expected cost of capacity-warranty claims of a fleet from each pack's
  forecast state of health at warranty end (mean and spread, e.g. from the health package).
Amounts are in the caller's currency (NIO's figures are RMB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.optimize import brentq
from scipy.stats import norm

from ..reference import References, ReferenceValue
from .errors import CircularInputError, require_fraction, require_non_negative, require_positive

if TYPE_CHECKING:
    from .routes import RouteEconomics


def _monthly_rate(annual_rate: float) -> float:
    return (1.0 + annual_rate) ** (1.0 / 12.0) - 1.0


class SubscriptionQuote(BaseModel):
    model_config = ConfigDict(frozen=True)

    pack_cost: float
    term_months: int
    residual_value: float
    annual_discount_rate_fraction: float
    margin_fraction: float
    operating_cost_per_month: float
    capital_recovery_per_month: float  # annuity of (cost − PV(residual))
    monthly_price: float
    explanation: str


def subscription_price(
    pack_cost: float,
    term_months: int,
    residual_value: float,
    annual_discount_rate_fraction: float,
    margin_fraction: float = 0.0,
    operating_cost_per_month: float = 0.0,
) -> SubscriptionQuote:
    """Monthly subscription price: i·(cost − residual·v^n)/(1 − v^n)·(1 + margin) + opex, i = monthly rate."""
    cost = require_positive("pack_cost", pack_cost)
    if isinstance(term_months, bool) or not isinstance(term_months, int) or term_months <= 0:
        raise CircularInputError("term_months", term_months, "must be a whole number of months, 1 or more")
    res = require_non_negative("residual_value", residual_value)
    r = require_fraction("annual_discount_rate_fraction", annual_discount_rate_fraction)
    m = require_non_negative("margin_fraction", margin_fraction)
    opex = require_non_negative("operating_cost_per_month", operating_cost_per_month)
    i = _monthly_rate(r)
    v_n = (1 + i) ** -term_months
    net = cost - res * v_n
    if net <= 0:
        raise CircularInputError("residual_value", residual_value, f"its present value ({res * v_n:.2f}) covers the pack cost: no fee needed")
    capital = net / term_months if i == 0 else net * i / (1 - v_n)
    price = capital * (1 + m) + opex
    return SubscriptionQuote(
        pack_cost=cost, term_months=term_months, residual_value=res, annual_discount_rate_fraction=r,
        margin_fraction=m, operating_cost_per_month=opex, capital_recovery_per_month=capital, monthly_price=price,
        explanation=(f"({cost:g} − {res:g} × {v_n:.4f}) recovered over {term_months} months at {i:.5%}/month = "
                     f"{capital:.2f}; × (1 + {m:g}) + {opex:g} = {price:.2f} per month"),
    )


def retired_pack_value_usd(route: str, npv_usd: float, best_recycle_usd: float, economics: RouteEconomics) -> float:
    """A retired pack's value to the route that takes it, at the moment it is sold: the route's NPV less, for re-use
    and remanufacture, the present value of recycling it at the end of that new life (``best_recycle_usd`` after
    ``reuse_years`` or ``remanufacture_years``) — the route's NPV counts it, but it is paid when it happens, to
    whoever holds the pack then, not to today's seller."""
    from .route_options import kind_of

    kind = kind_of(route)
    if kind in ("reuse", "remanufacture"):
        years = economics.reuse_years if kind == "reuse" else economics.remanufacture_years
        return npv_usd - best_recycle_usd / (1 + economics.discount_rate_fraction) ** years
    return npv_usd


def retired_pack_price_usd(value_usd: float, seller_share_fraction: float) -> float:
    """What the holder of a retired pack is paid for it: the route operator buys it for a share of its value
    (:func:`retired_pack_value_usd`; ``batteryloop_assumptions.pilot.seller_share_of_route_value_fraction``), nothing
    for a pack worth nothing. A BaaS fee's residual value and the pilot's books both use it."""
    require_fraction("seller_share_fraction", seller_share_fraction)
    return seller_share_fraction * max(value_usd, 0.0)


def seller_share_fraction(references: References | None = None) -> float:
    """The share of a retired pack's value its seller is paid (the reference set's, the pilot's books')."""
    t = (references or References.default()).tracker()
    return float(t.get("batteryloop_assumptions", "pilot", "seller_share_of_route_value_fraction"))


class PackSubscriptionQuote(BaseModel):
    model_config = ConfigDict(frozen=True)

    chemistry: str
    capacity_kwh: float
    soh_at_term_end_fraction: float
    residual_route: str
    #: the route's value of the pack at the term's end (:func:`retired_pack_value_usd`) and the share of it the
    #: operator is paid; the quote's residual value is their product (:func:`retired_pack_price_usd`)
    route_value_usd: float = 0.0
    residual_share_fraction: float = 1.0
    quote: SubscriptionQuote
    references: list[ReferenceValue]


def subscription_for_pack(
    chemistry: str,
    capacity_kwh: float,
    term_months: int,
    soh_at_term_end_fraction: float,
    annual_discount_rate_fraction: float,
    margin_fraction: float = 0.0,
    operating_cost_per_month: float = 0.0,
    pack_cost_usd: float | None = None,
    references: References | None = None,
    *,
    residual_share_fraction: float | None = None,
    pack_mass_kg: float | None = None,
    economics: Mapping[str, float] | None = None,
) -> PackSubscriptionQuote:
    """A pack's monthly fee in $: pack cost (default capacity × new-pack price), residual value at the end of the
    term = what the operator is paid for the retired pack then: ``residual_share_fraction`` (default: the
    reference seller's share, :func:`seller_share_fraction`, 0.4) of the best route's value at the forecast state
    of health (:mod:`.routes`; :func:`retired_pack_value_usd`) — the figure the pilot's books pay a seller.
    ``pack_mass_kg``: the declared pack mass the recycling values are of; ``economics``: route economics overrides."""
    from .route_options import recycling_names
    from .routes import decide_routes_batch

    refs = references or References.default()
    cap = require_positive("capacity_kwh", capacity_kwh)
    s_end = require_fraction("soh_at_term_end_fraction", soh_at_term_end_fraction)
    share = seller_share_fraction(refs) if residual_share_fraction is None else require_fraction(
        "residual_share_fraction", residual_share_fraction)
    batch = decide_routes_batch([chemistry], np.array([cap]), np.array([s_end]), references=refs, economics=economics,
                                pack_mass_kg=np.array([np.nan if pack_mass_kg is None else float(pack_mass_kg)]))
    best = int(batch.best_index[0])
    recycle_cols = [batch.routes.index(r) for r in recycling_names()]
    rec = batch.npv_usd[0, recycle_cols]
    best_recycle = float(np.nanmax(rec)) if np.isfinite(rec).any() else 0.0
    value = retired_pack_value_usd(batch.routes[best], float(batch.npv_usd[0, best]), best_recycle, batch.economics)
    residual = retired_pack_price_usd(value, share)
    cost = cap * batch.economics.new_pack_price_usd_per_kwh if pack_cost_usd is None else pack_cost_usd
    quote = subscription_price(cost, term_months, residual, annual_discount_rate_fraction, margin_fraction,
                               operating_cost_per_month)
    return PackSubscriptionQuote(chemistry=chemistry, capacity_kwh=cap, soh_at_term_end_fraction=s_end,
                                 residual_route=batch.routes[best], route_value_usd=value, residual_share_fraction=share,
                                 quote=quote, references=batch.references)


def implied_annual_rate(
    monthly_price: float, pack_cost: float, term_months: int, residual_value: float = 0.0,
    margin_fraction: float = 0.0, operating_cost_per_month: float = 0.0,
) -> float | None:
    """The annual discount rate at which :func:`subscription_price` equals ``monthly_price`` (None if none in 0–100 %)."""
    price = require_positive("monthly_price", monthly_price)

    def gap(r: float) -> float:
        return subscription_price(pack_cost, term_months, residual_value, r, margin_fraction,
                                  operating_cost_per_month).monthly_price - price

    try:
        lo, hi = gap(0.0), gap(1.0)
    except CircularInputError:
        return None
    if lo > 0 or hi < 0:
        return None
    return float(brentq(gap, 0.0, 1.0, xtol=1e-10))


class BuyoutQuote(BaseModel):
    model_config = ConfigDict(frozen=True)

    payments_made: int
    qualifying_payments: int
    base_price: float
    reduction_per_payment: float
    price: float
    references: list[ReferenceValue]


def nio_buyout_price(payments_made: int, references: References | None = None) -> BuyoutQuote:
    """NIO's buyout of a 70/75 kWh pack after ``payments_made`` monthly payments (made from month 1 on)."""
    if isinstance(payments_made, bool) or not isinstance(payments_made, int) or payments_made < 0:
        raise CircularInputError("payments_made", payments_made, "must be a whole number of monthly payments, 0 or more")
    t = (references or References.default()).tracker()
    base = float(t.get("nio_baas", "buyout", "base_price_rmb"))
    step = float(t.get("nio_baas", "buyout", "reduction_rmb_per_payment"))
    first = int(t.get("nio_baas", "buyout", "reduction_first_month"))
    last = int(t.get("nio_baas", "buyout", "reduction_last_month"))
    qualifying = max(0, min(payments_made, last) - first + 1)
    return BuyoutQuote(payments_made=payments_made, qualifying_payments=qualifying, base_price=base,
                       reduction_per_payment=step, price=base - step * qualifying, references=t.used())


def buyout_schedule(months: int = 72, references: References | None = None) -> list[BuyoutQuote]:
    """The buyout price after 0, 1, …, ``months`` payments."""
    return [nio_buyout_price(m, references) for m in range(months + 1)]


class SwapCharge(BaseModel):
    model_config = ConfigDict(frozen=True)

    kwh_swapped: float
    kwh_billed: float
    electricity_price_per_kwh: float
    service_fee_per_kwh: float
    price: float


def swap_price(
    kwh_swapped: float, electricity_price_per_kwh: float, service_fee_per_kwh: float,
    references: References | None = None,
) -> SwapCharge:
    """(electricity price + service fee) × kWh swapped, billed for at least the minimum (NIO: 20 kWh)."""
    kwh = require_non_negative("kwh_swapped", kwh_swapped)
    e = require_non_negative("electricity_price_per_kwh", electricity_price_per_kwh)
    s = require_non_negative("service_fee_per_kwh", service_fee_per_kwh)
    minimum = float((references or References.default()).tracker().get("nio_baas", "swap_min_kwh"))
    billed = max(kwh, minimum)
    return SwapCharge(kwh_swapped=kwh, kwh_billed=billed, electricity_price_per_kwh=e, service_fee_per_kwh=s,
                      price=(e + s) * billed)


class WarrantyProvision(BaseModel):
    model_config = ConfigDict(frozen=True)

    packs: int
    threshold_soh_fraction: float
    expected_claims: float
    claim_probability: list[float]
    expected_cost: float
    present_value: float
    explanation: str


def warranty_provision(
    soh_at_warranty_end_mean: Sequence[float] | np.ndarray,
    soh_at_warranty_end_sd: Sequence[float] | np.ndarray | float,
    *,
    threshold_soh_fraction: float = 0.70,
    cost_per_claim: float,
    years_to_warranty_end: float | Sequence[float] | np.ndarray = 0.0,
    annual_discount_rate_fraction: float = 0.0,
) -> WarrantyProvision:
    """Provision for capacity-warranty claims: Σ P(SoH at warranty end < threshold) × cost, discounted.

    Each pack's state of health at warranty end is taken as normal(mean, sd) — the health forecast and
    its uncertainty. A pack with sd 0 claims if and only if its mean is below the threshold.
    """
    mu = np.asarray(soh_at_warranty_end_mean, dtype=float)
    if mu.ndim != 1 or mu.size == 0:
        raise CircularInputError("soh_at_warranty_end_mean", soh_at_warranty_end_mean, "give one value per pack")
    if np.any(~np.isfinite(mu)) or np.any((mu < 0) | (mu > 1)):
        raise CircularInputError("soh_at_warranty_end_mean", soh_at_warranty_end_mean, "fractions between 0 and 1")
    sd = np.broadcast_to(np.asarray(soh_at_warranty_end_sd, dtype=float), mu.shape)
    if np.any(~np.isfinite(sd)) or np.any(sd < 0):
        raise CircularInputError("soh_at_warranty_end_sd", soh_at_warranty_end_sd, "must be 0 or more")
    thr = require_fraction("threshold_soh_fraction", threshold_soh_fraction)
    cost = require_non_negative("cost_per_claim", cost_per_claim)
    r = require_fraction("annual_discount_rate_fraction", annual_discount_rate_fraction)
    years = np.broadcast_to(np.asarray(years_to_warranty_end, dtype=float), mu.shape)
    if np.any(years < 0):
        raise CircularInputError("years_to_warranty_end", years_to_warranty_end, "must be 0 or more")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (thr - mu) / np.where(sd > 0, sd, 1.0), np.where(mu < thr, np.inf, -np.inf))
    p = norm.cdf(z)
    expected = float(p.sum())
    pv = float((p * cost * (1 + r) ** -years).sum())
    return WarrantyProvision(
        packs=int(mu.size), threshold_soh_fraction=thr, expected_claims=expected, claim_probability=p.tolist(),
        expected_cost=expected * cost, present_value=pv,
        explanation=f"Σ Φ(({thr:g} − mean)/sd) over {mu.size} packs = {expected:.3f} claims × {cost:g}",
    )


def annual_rate_from_monthly(i: float) -> float:
    return (1 + i) ** 12 - 1


__all__ = [
    "BuyoutQuote", "PackSubscriptionQuote", "SubscriptionQuote", "SwapCharge", "WarrantyProvision", "annual_rate_from_monthly",
    "buyout_schedule", "implied_annual_rate", "nio_buyout_price", "retired_pack_price_usd", "retired_pack_value_usd",
    "seller_share_fraction", "subscription_for_pack", "subscription_price",
    "swap_price",
    "warranty_provision",
]
