"""Fit llem's blocked model with statsmodels, independently of the Go code.

Reads a design (factors with ordered levels, the interaction pair, one
observation per completed cycle of a configuration: cycle, levels, log y) as
JSON on stdin; writes on stdout the residual sum of squares and degrees of
freedom, the Type II ANOVA (anova_lm typ=2) and every pairwise difference of
estimated marginal means (the model's prediction averaged over a full grid of
the other factors' levels and the cycles), computed with patsy's design
matrix of that grid and the fit's t_test.

Run by TestBlockedModelMatchesStatsmodels (internal/report/model_test.go).
"""
import itertools
import json
import sys

import numpy as np
import pandas as pd
import patsy
import statsmodels.formula.api as smf
from scipy import stats as sps
from statsmodels.stats.anova import anova_lm

d = json.load(sys.stdin)
names = [f"f{i}" for i in range(len(d["factors"]))]
cycles = sorted({o["cycle"] for o in d["obs"]})
df = pd.DataFrame({"y": [o["y"] for o in d["obs"]], "cycle": [o["cycle"] for o in d["obs"]]})
df["cycle"] = pd.Categorical(df["cycle"], categories=cycles)
for i, f in enumerate(d["factors"]):
    df[names[i]] = pd.Categorical([o["levels"][i] for o in d["obs"]], categories=f["levels"])

terms = ["C(cycle)"] + names
if d["inter"]:
    a, b = d["inter"]
    terms.append(f"{names[a]}:{names[b]}")
res = smf.ols("y ~ " + " + ".join(terms), data=df).fit()
aov = anova_lm(res, typ=2)

out = {"ssr": res.ssr, "df_resid": int(res.df_resid), "anova": {}, "pairs": [], "interaction": None,
       # the Bonferroni t quantile of simultaneous intervals over 3 pairs
       "t_bonferroni3": sps.t.ppf(1 - 0.025 / 3, res.df_resid)}
for term in aov.index:
    if term == "Residual":
        continue
    key = term
    for i, n in enumerate(names):
        key = key.replace(n, str(i))
    out["anova"][key] = {"F": aov.loc[term, "F"], "p": aov.loc[term, "PR(>F)"], "df": aov.loc[term, "df"]}


def emm_row(fixed):
    """Mean design row over the grid of cycles and levels, some fixed."""
    axes = [cycles] + [[fixed[i]] if i in fixed else f["levels"] for i, f in enumerate(d["factors"])]
    grid = pd.DataFrame(list(itertools.product(*axes)), columns=["cycle"] + names)
    grid["cycle"] = pd.Categorical(grid["cycle"], categories=cycles)
    for i, f in enumerate(d["factors"]):
        grid[names[i]] = pd.Categorical(grid[names[i]], categories=f["levels"])
    (x,) = patsy.build_design_matrices([res.model.data.design_info], grid)
    return np.asarray(x).mean(axis=0)


def contrast(L):
    t = res.t_test(L.reshape(1, -1))
    return float(np.asarray(t.effect).ravel()[0]), float(np.asarray(t.sd).ravel()[0])


for i, f in enumerate(d["factors"]):
    lv = f["levels"]
    for ia, ib in itertools.combinations(range(len(lv)), 2):
        est, se = contrast(emm_row({i: lv[ib]}) - emm_row({i: lv[ia]}))
        out["pairs"].append({"factor": i, "a": lv[ia], "b": lv[ib], "est": est, "se": se})

if d["inter"]:
    a, b = d["inter"]
    la, lb = d["factors"][a]["levels"], d["factors"][b]["levels"]
    L = (emm_row({a: la[-1], b: lb[-1]}) - emm_row({a: la[-1], b: lb[0]})) - (
        emm_row({a: la[0], b: lb[-1]}) - emm_row({a: la[0], b: lb[0]}))
    est, se = contrast(L)
    out["interaction"] = {"est": est, "se": se}

json.dump(out, sys.stdout)
