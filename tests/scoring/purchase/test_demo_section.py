"""The demo's model section reports what the models, applied directly, say."""

import io
import re

import numpy as np

from relcore._demo import CALIBRATION_END, OBSERVATION_END, run_demo
from relcore.datasets import load_cdnow
from relcore.scoring import BGNBD, GammaGamma, customer_lifetime_value, summarize


def test_demo_reports_the_holdout_test_and_the_top_customers_by_clv():
    out = io.StringIO()
    run_demo(out)
    text = out.getvalue()
    cal = summarize(load_cdnow(), period="W", observation_end=OBSERVATION_END,
                    calibration_end=CALIBRATION_END)  # fmt: skip
    model = BGNBD.fit(cal)
    predicted = model.expected_purchases(cal.holdout_duration, cal.frequency, cal.recency, cal.T)

    def number(label):
        line = next(ln for ln in text.splitlines() if ln.strip().startswith(label))
        return float(re.findall(r"[-+]?[\d,]*\.?\d+", line)[-1].replace(",", ""))

    assert number("predicted") == round(predicted.sum())
    assert number("actual") == cal.holdout_frequency.sum()
    mae = np.abs(predicted - cal.holdout_frequency).mean()
    assert number("mean absolute error per customer") == round(mae, 3)
    assert f"{model.params['r']:.6g}" in text  # the parameter table

    repeat = (cal.frequency > 0) & (cal.monetary_value > 0)
    spend = GammaGamma.fit(
        frequency=cal.frequency[repeat], monetary_value=cal.monetary_value[repeat]
    )
    clv = customer_lifetime_value(model, spend, cal, months=12, monthly_discount_rate=0.01).clv
    top = cal.customer_id[np.argsort(-clv, kind="stable")[:10]]
    table = text.split("Top 10 customers by 12-month lifetime value", 1)[1].splitlines()[3:13]
    assert [line.split()[0] for line in table] == [str(c) for c in top]
