"""Figure 6's paragraph of the lab report: the planted gender skew against what each model measures
(Pearson r and WEAT), and where the two measures disagree (docs/10-anisotropy-bias.md).
"""

from __future__ import annotations

from minilm.lab_text import fmt, listing


def p_bias(M: dict) -> str:
    models = M["models"]
    rows = [
        (m.get("label", n), m["bias"])
        for n, m in models.items()
        if m.get("bias") and m["bias"].get("pearson") is not None
    ]
    if not rows:
        return "Bias was not measured (no bias.tsv, or no gendered noun pair in the vocabulary)."
    rows.sort(key=lambda p: -p[1]["pearson"])
    n_pairs = max(b.get("n_pairs") or 0 for _, b in rows)
    text = (
        "Bolukbasi et al. (2016) showed that occupations line up along a gender direction as the "
        "corpus uses them. The world corpus plants each occupation's he-share (bias.tsv). An "
        "occupation shares its gendered contexts (he, his, she, her) with the gendered nouns, "
        "not with he and she themselves, so the direction here is the first principal "
        f"component of up to {n_pairs} gendered noun pairs (man/woman, king/queen, ...); "
        "`docs/bias-findings.md` shows why the single he − she direction is the wrong ruler on "
        "this corpus. Pearson r between the planted share and each occupation's cosine with "
        "that direction: " + listing([(label, b["pearson"]) for label, b in rows]) + ". "
    )
    weat = [(label, b) for label, b in rows if b.get("weat_d") is not None]
    if weat:
        text += (
            "WEAT (Caliskan et al. 2017; occupations planted above vs below 0.5, the "
            "nouns as attributes), effect size d and permutation p: "
            + ", ".join(f"{label} {b['weat_d']:.2f} (p = {b['weat_p']:.3f})" for label, b in weat)
            + ". "
        )
    shares = [b["pc1_share"] for _, b in rows if b.get("pc1_share") is not None]
    if shares:
        text += (
            f"The first component explains {min(shares):.2f}–{max(shares):.2f} of the "
            "pairs' variance: the lower it is, the less the pairs agree on one direction. "
        )
    text += bias_disagreements(weat)
    he_she = [
        (label, b["pearson_he_she"]) for label, b in rows if b.get("pearson_he_she") is not None
    ]
    if he_she:
        text += "For contrast, r on he − she (grey in the figure): " + listing(he_she) + ". "
    weak = [(label, b) for label, b in rows if b["pearson"] < 0.5]
    pronoun = [label for label, b in weak if (b.get("pearson_he_she") or 0) >= 0.5]
    lost = [label for label, b in weak if label not in pronoun]
    if pronoun:
        text += (
            f"For {', '.join(pronoun)} he − she tracks the skew (r ≥ 0.5) and the nouns' "
            "direction does not: a table whose cosines carry co-occurrence itself, as a "
            "count model's can, puts the occupations near he or she directly. "
        )
    if lost:
        hint = " (a --quick run: a small corpus, one short epoch)" if M["lab"].get("quick") else ""
        text += (
            f"The correlation is weak (r < 0.5) on both directions for {', '.join(lost)}: "
            f"those vectors do not (yet) mirror the planted skew{hint}."
        )
    elif not weak:
        text += "Every model recovers the planted skew (r ≥ 0.5): the bias is in the data."
    return text


def bias_disagreements(weat: list[tuple[str, dict]]) -> str:
    """Where r and WEAT tell different stories (figure 6's titles), say which and why."""
    only_weat = [(label, b) for label, b in weat if abs(b["pearson"]) < 0.5 and b["weat_p"] < 0.05]
    only_r = [(label, b) for label, b in weat if b["pearson"] >= 0.5 and b["weat_p"] >= 0.05]
    text = ""
    if only_weat:
        text += (
            "r and WEAT disagree for "
            + ", ".join(
                f"{label} (r = {b['pearson']:.2f}, d = {b['weat_d']:.2f}, first component "
                f"{fmt(b.get('pc1_share'))} of the pairs' variance)"
                for label, b in only_weat
            )
            + ": WEAT compares each occupation with the male and female nouns themselves, r "
            "projects it on the pairs' single first component. When the pairs do not share one "
            "direction, every noun can still carry the skew while their common direction does "
            "not, so WEAT finds it and r does not. "
        )
    if only_r:
        text += (
            "For "
            + ", ".join(
                f"{label} (r = {b['pearson']:.2f}, p = {b['weat_p']:.3f})" for label, b in only_r
            )
            + " r finds a trend that WEAT does not confirm: WEAT only compares the occupations "
            "planted above 0.5 with those below, so a trend within each half counts for r, "
            "not for WEAT. "
        )
    return text
