"""What a planner, a report reader or a class reads: each metric's plain name and unit in
English and Simplified Chinese, the model's words (kinds of violation, who ended one) and
the few words the console and the report print around them; and numbers formatted alike in
the console, the figures and the report (shares in per cent, differences of shares in
percentage points, three significant digits, thousands separated).

This is the ONE table of translated labels: the console (``--lang``), the report and its
figures, and the lesson page (:mod:`sim.lesson.labels` takes every metric, unit, kind and
ender word from here) all read it. Every entry has both languages; ``missing()`` lists any
that does not, and ``tests/test_labels.py`` keeps it empty and checks that every character
of the Chinese text is in the bundled font (:mod:`sim.present.fonts`).

The language is an argument (``lang="zh"``) or, when left out, the one chosen for a block of
work with :func:`speaking` (a context variable: the console and the report set it once;
default English). A metric that is not in the table (one added to
:data:`sim.run.metrics.METRICS` later) still gets a readable label made from its name;
``tests/test_labels.py`` lists such metrics, so that they are given a proper one here."""
from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from typing import Any

from ..model.onboard import ENDERS
from ..model.params import KINDS

#: The languages of every label: English and Simplified Chinese.
LANGUAGES: tuple[str, ...] = ("en", "zh")
_LANG: contextvars.ContextVar[str] = contextvars.ContextVar("quietcar_lang", default="en")


def check_language(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGUAGES` (else a ValueError naming them)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return lang


@contextlib.contextmanager
def speaking(lang: str | None) -> Iterator[str]:
    """Within the block, labels, units and words default to ``lang`` (None: leave it as it is)."""
    token = _LANG.set(check_language(lang)) if lang is not None else None
    try:
        yield current()
    finally:
        if token is not None:
            _LANG.reset(token)


def current() -> str:
    """The language labels default to here (see :func:`speaking`)."""
    return _LANG.get()


def _i(lang: str | None) -> int:
    return LANGUAGES.index(check_language(lang or current()))


# --- the model's words ------------------------------------------------------------------------------
#: Kind of violation -> (English, Chinese): one of them, as the page's legend and log say it.
KIND_WORDS: dict[str, tuple[str, str]] = {
    "call": ("phone call", "打电话"), "talk": ("loud talk", "大声交谈"),
    "media": ("audio aloud", "外放音频"), "child": ("child noise", "儿童吵闹"),
}
#: Kind of violation, as a group -> (English, Chinese): "Phone calls ended by staff".
KIND_GROUPS: dict[str, tuple[str, str]] = {
    "call": ("Phone calls", "打电话"), "talk": ("Loud talk", "大声交谈"),
    "media": ("Audio played aloud", "外放音频"), "child": ("Child noise", "儿童吵闹"),
}
#: Who ended a violation -> (English, Chinese), as the page's "who ended them" panel says it.
ENDER_WORDS: dict[str, tuple[str, str]] = {
    "self": ("by themselves", "自行停止"), "peer": ("a neighbour", "邻座提醒"),
    "staff": ("staff", "乘务员"), "alighting": ("got off still noisy", "下车时仍在吵"),
}
#: Who ended a violation -> (English, Chinese), completing "Violations ended ..." / "...的违规".
_ENDED: dict[str, tuple[str, str]] = {
    "self": ("by the violator", "违规者自行停止"), "peer": ("by a neighbour", "邻座提醒后停止"),
    "staff": ("by staff", "乘务员制止"), "alighting": ("by getting off", "下车时仍未停止"),
}

# --- metrics ----------------------------------------------------------------------------------------
#: metric -> ((English label, unit), (Chinese label, unit)). A unit that starts with "share"
#: (English) marks a share, shown in per cent in both languages.
METRIC_LABELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "uptake_rate": (("Uptake of the agreement", "share of offers accepted"),
                    ("接受静音约定的旅客", "占获邀旅客的比例")),
    "quiet_load_factor": (("Quiet-car load", "share of seat-minutes sold"),
                          ("静音车厢上座率", "已售座位时间的比例")),
    "overflow_share": (("Overflow (not opted in)", "share of quiet-car passenger-legs"),
                       ("未选静音却坐在静音车厢的旅客", "占静音车厢乘车区段的比例")),
    "refused_share": (("Refused booking requests", "share of requests"),
                      ("被拒绝的购票请求", "占购票请求的比例")),
    "violations_per_100_pax_h": (("Violation rate", "starts per 100 passenger-hours"),
                                 ("违规频率", "每百人·小时开始的次数")),
    "noisy_time_share": (("Noisy time", "share of running time"),
                         ("有噪声的时间", "占运行时间的比例")),
    "mean_violation_min": (("Length of a violation", "minutes"),
                           ("每次违规的时长", "分钟")),
    "disturbed_pax_min_per_pax_h": (("Disturbance", "minutes disturbed per passenger-hour"),
                                    ("受打扰的程度", "每人·小时受打扰的分钟数")),
    "optin.disturbed_pax_min_per_pax_h": (
        ("Opt-in passengers' exposure", "minutes disturbed per opt-in passenger-hour"),
        ("选了静音的旅客受打扰的程度", "选静音旅客每人·小时受打扰的分钟数")),
    "staff_interventions_per_train": (("Staff interventions", "per train"),
                                      ("乘务员干预", "每列车的次数")),
    "staff_min_per_train": (("Crew time on the quiet car", "minutes per train"),
                            ("乘务员花在静音车厢的时间", "每列车的分钟数")),
    "complaints_per_1000_pax": (("Complaints", "per 1,000 passengers"),
                                ("投诉", "每千名旅客的次数")),
    "contagion_lift": (("Contagion lift", "rate noisy / rate calm"),
                       ("噪声的传染倍数", "有人吵时与安静时的违规频率之比")),
    "control.violations_per_100_pax_h": (("Violation rate, control car", "starts per 100 passenger-hours"),
                                         ("违规频率（对照的普通车厢）", "每百人·小时开始的次数")),
    "control.noisy_time_share": (("Noisy time, control car", "share of running time"),
                                 ("有噪声的时间（对照的普通车厢）", "占运行时间的比例")),
    "control.disturbed_pax_min_per_pax_h": (("Disturbance, control car", "minutes disturbed per passenger-hour"),
                                            ("受打扰的程度（对照的普通车厢）", "每人·小时受打扰的分钟数")),
    **{f"violation_mix.{k}": ((f"Share of violations: {KIND_WORDS[k][0]}", "share of violations"),
                              (f"违规类型：{KIND_WORDS[k][1]}", "占违规次数的比例")) for k in KINDS},
    **{f"ended_by.{w}": ((f"Violations ended {_ENDED[w][0]}", "share of violations"),
                         (f"{_ENDED[w][1]}的违规", "占违规次数的比例")) for w in ENDERS},
    **{f"ended_by.{w}.{k}": ((f"{KIND_GROUPS[k][0]} ended {_ENDED[w][0]}",
                              f"share of {KIND_GROUPS[k][0].lower()}"),
                             (f"{KIND_GROUPS[k][1]}：{_ENDED[w][1]}", f"占{KIND_GROUPS[k][1]}次数的比例"))
       for w in ENDERS for k in KINDS},
    **{f"sanctioned.{k}": ((f"{KIND_GROUPS[k][0]} a neighbour reminded", f"share of {KIND_GROUPS[k][0].lower()}"),
                           (f"{KIND_GROUPS[k][1]}：被邻座提醒过", f"占{KIND_GROUPS[k][1]}次数的比例"))
       for k in KINDS},
    "sanctioned.all": (("Violations a neighbour reminded", "share of violations"),
                       ("被邻座提醒过的违规", "占违规次数的比例")),
    **{f"warned_mix.{k}": ((f"Staff interventions: {KIND_WORDS[k][0]}", "share of interventions"),
                           (f"乘务员干预：{KIND_WORDS[k][1]}", "占干预次数的比例")) for k in KINDS},
    "calls_running": (("Phone calls under way", "calls at a random moment, per car"),
                      ("正在进行的通话", "随机时刻每节车厢的通话数")),
    "violations_running": (("Violations under way", "violations at a random moment, per car"),
                           ("正在进行的违规", "随机时刻每节车厢的违规数")),
    "control.calls_running": (("Phone calls under way, control car", "calls at a random moment"),
                              ("正在进行的通话（对照的普通车厢）", "随机时刻的通话数")),
    "control.violations_running": (("Violations under way, control car", "violations at a random moment"),
                                   ("正在进行的违规（对照的普通车厢）", "随机时刻的违规数")),
    "staff_interventions_per_car_h": (("Staff interventions per car-hour", "per quiet car per hour"),
                                      ("每节车厢每小时的乘务员干预", "每节静音车厢每小时的次数")),
    "damping_lift": (("Damping lift", "rate after an intervention / rate otherwise"),
                     ("干预后的安静效果", "干预后与平时的违规频率之比")),
    "mean_trip_min": (("Quiet-car trip", "minutes"), ("静音车厢旅客的行程", "分钟")),
    "mean_trip_legs": (("Quiet-car trip", "legs"), ("静音车厢旅客的行程", "乘车区段数")),
    "second_class.mean_trip_min": (("Second-class trip", "minutes"), ("二等座旅客的行程", "分钟")),
    "second_class.mean_trip_legs": (("Second-class trip", "legs"), ("二等座旅客的行程", "乘车区段数")),
}
#: metric -> (label, unit) in English (the planner's words; what ``label(m, "en")`` gives).
LABELS: dict[str, tuple[str, str]] = {m: pair[0] for m, pair in METRIC_LABELS.items()}

# --- words around the numbers -----------------------------------------------------------------------
#: key -> (English, Chinese): counts the lesson shows beside its metrics, units written beside
#: a number, and the words of the console's tables and of the report.
WORDS: dict[str, tuple[str, str]] = {
    **{f"kind.{k}": v for k, v in KIND_WORDS.items()},
    **{f"ender.{w}": v for w, v in ENDER_WORDS.items()},
    # counts of one journey (the lesson), beside its metrics
    "count.violations": ("Violations", "违规次数"),
    "count.passengers": ("Travellers in the quiet car", "静音车厢旅客人数"),
    "count.chained": ("Began while another was running", "在别人吵时开始的违规"),
    # units beside a number
    "unit.percent": ("%", "%"),
    "unit.minutes": ("min", "分钟"),
    "unit.points": ("points", "个百分点"),
    "unit.pp": ("pp", "个百分点"),
    "unit.ratio": ("ratio", "倍数"),
    "unit.variance_shares": ("shares of variance", "方差的占比"),
    # short names of the sweep's point table
    "short.overflow_share": ("overflow share", "未选静音占比"),
    "short.violations_per_100_pax_h": ("violations/100 pax-h", "每百人·小时违规"),
    "short.noisy_time_share": ("noisy time", "有噪声时间"),
    "short.disturbed_pax_min_per_pax_h": ("disturbed min/pax-h", "每人·小时受扰分钟"),
    "short.optin.disturbed_pax_min_per_pax_h": ("opt-in exposure", "选静音者受扰"),
    # the console's tables
    "head.metric": ("metric", "指标"),
    "head.unit": ("unit", "单位"),
    "head.mean": ("mean", "均值"),
    "head.interval": ("95 % interval", "95% 置信区间"),
    "head.n": ("n", "重复"),
    "head.metric_unit": ("metric (unit)", "指标（单位）"),
    "head.mean_interval": ("mean [95 %]", "均值 [95%]"),
    "head.difference": ("difference from A [95 %]", "与 A 之差 [95%]"),
    "head.differences_pp": ("% (differences: pp)", "%（差值：百分点）"),
    "note.one_replication": ("(one replication)", "（只有一次重复）"),
    "note.excludes_zero": ("* the interval of the difference excludes 0", "* 差值的置信区间不含 0"),
    "note.cut": ("cut at the metric's possible range: a t interval from few replications reaches past it",
                 "区间在指标可能的范围处截断：重复次数少时 t 区间会超出该范围"),
    "note.cut_index": ("cut at the index's possible range (S1, ST: 0 to 1; mu*: 0 and up): few points, wide "
                       "bootstrap", "已截断到指数的可能范围（S1、ST：0 到 1；mu*：不小于 0）：点数少，自助法区间很宽"),
    "note.paired": ("paired by replication (same network and demand: common random numbers)",
                    "按重复逐一配对（路网与需求相同：共同随机数）"),
    "note.welch": ("Welch's t (network or demand differ, so replications are not paired)",
                   "Welch t 检验（路网或需求不同，重复之间不配对）"),
    "note.pairing_removed": ("pairing {tag} with A removed {share} % of the variance of the differences (median; "
                             "per metric: comparison.csv)",
                             "{tag} 与 A 配对消除了差值方差的 {share}%（中位数；各指标见 comparison.csv）"),
    # warnings of small designs (sim.run.design_checks.DesignWarning keys)
    "warn.prefix": ("warning: ", "注意："),
    "warn.replications": ("only {n} replication{s}: 95 % intervals rest on {df} degree{dfs} of freedom and are "
                          "very wide or missing; use -n {minimum} or more",
                          "只有 {n} 次重复：95% 区间只有 {df} 个自由度，很宽或无法给出；请用 -n {minimum} 或更多"),
    "warn.morris": ("only {n} Morris trajectories: the ranking of mu* is unstable below about {minimum} "
                    "(--samples {minimum} or more)",
                    "只有 {n} 条 Morris 轨迹：少于约 {minimum} 条时效应排序不稳定（请用 --samples {minimum} 或更多）"),
    "warn.sobol": ("only {n} Sobol' base samples: S1 and ST are unstable below about {minimum} (--samples "
                   "{minimum} or more); their intervals may leave 0 to 1",
                   "只有 {n} 个 Sobol' 基础样本：少于约 {minimum} 个时指数不稳定（请用 --samples {minimum} 或更多）；"
                   "其区间可能超出 0 到 1"),
    "warn.noise": ("replication noise is as large as the spread between points for {metrics}, so their indices "
                   "say nothing; add replications (-n)",
                   "对于{metrics}，重复间的随机噪声与各点之间的差异一样大，其指数说明不了什么；请增加重复次数（-n）"),
    "warn.identical": ("{this} is identical to {earlier} (the same resolved scenario): their differences are 0 by "
                       "construction; use --each I:KEY=VALUE to change one of them",
                       "{this} 与 {earlier} 完全相同（解析后的情景一样）：两者之差必然为 0；请用 --each I:KEY=VALUE "
                       "改变其中一个"),
    "overrides.none": ("overrides: none (the scenario file as it is)", "覆盖设置：无（按情景文件原样）"),
    "overrides.prefix": ("overrides: ", "覆盖设置："),
    # --posterior tables
    "head.monte_carlo": ("Monte-Carlo 95 %", "蒙特卡洛 95%"),
    "head.predictive": ("total predictive 95 %", "总预测 95%"),
    "head.dominated_by": ("dominated by", "主要来源"),
    "head.predictive_difference": ("predictive 95 %", "预测 95%"),
    "dominates.parameters": ("parameters", "参数"),
    "dominates.monte_carlo": ("Monte-Carlo noise", "蒙特卡洛噪声"),
    "dominates.undetermined": ("undetermined (one train a day)", "无法判断（每天只有一列车）"),
    "note.predictive": ("(Monte-Carlo: the mean's interval over the replications; total predictive: what the "
                        "metric can be given the posterior's parameter uncertainty and the noise; "
                        "docs/calibration.md)",
                        "（蒙特卡洛：各次重复均值的区间；总预测：在后验参数不确定性与随机噪声下指标可能的范围；"
                        "见 docs/calibration.md）"),
    "note.posterior_differences": ("With parameters drawn from the posterior (the same draw in both arms of each "
                                   "replication): each difference's Monte-Carlo interval, and its predictive "
                                   "interval (a new day's difference, parameter uncertainty included)",
                                   "参数取自后验（每次重复两组用同一组参数）：每个差值的蒙特卡洛区间，以及其预测区间"
                                   "（新的一天的差值，含参数不确定性）"),
    # the report
    "report.question": ("The question", "问题"),
    "report.scenarios": ("The scenarios side by side", "并列的情景"),
    "report.headline": ("Headline metrics", "主要指标"),
    "report.figures": ("Figures", "图表"),
    "report.experiments": ("Experiments", "实验"),
    "report.assumptions": ("The assumptions that matter most", "最重要的假设"),
    "report.manifests": ("Reproducibility: the manifest of every run", "可重复性：每次运行的清单"),
    "report.nav_scenarios": ("Scenarios side by side", "并列的情景"),
    "report.nav_assumptions": ("Assumptions that matter most", "最重要的假设"),
    "report.nav_manifests": ("Manifests", "清单"),
    "report.col_question": ("question", "问题"),
    "report.col_metric": ("metric", "指标"),
    "report.col_mean": ("{name}: mean [95 %]", "{name}：均值 [95%]"),
    "report.read_with_care": ("Read with care:", "阅读时请注意："),
    "report.bold": ("Bold: the interval of the difference excludes 0.", "粗体：差值的置信区间不含 0。"),
    "report.differences_from": ("Differences from {name}", "与 {name} 之差"),
    "report.paired": ("paired by replication (same network and demand, same seed)",
                      "按重复逐一配对（路网与需求相同，种子相同）"),
    "report.welch": ("Welch", "Welch t 检验"),
    "report.q.uptake": ("Who accepts the silence agreement when it is offered?", "谁会接受静音约定？"),
    "report.q.load": ("How full is the quiet car?", "静音车厢有多满？"),
    "report.q.overflow": ("With whom? (passengers placed there without opting in)", "坐的是谁？（未选静音却被安排在此的旅客）"),
    "report.q.rate": ("How often is the silence broken?", "安静多久被打破一次？"),
    "report.q.length": ("For how long?", "每次持续多久？"),
    "report.q.disturbed": ("How many people does it bother?", "打扰了多少人？"),
    "report.q.enders": ("Who ends it?", "由谁让它停下？"),
    "report.q.crew": ("What does it cost the crew?", "乘务员要花多少工夫？"),
    "report.q.complaints": ("Do passengers complain?", "旅客会投诉吗？"),
    "report.q.contagion": ("Does it stay quiet? (contagion)", "能保持安静吗？（噪声传染）"),
    # figures and their captions
    "figure.headline": ("Headline metrics: mean across replications with 95 % interval",
                        "主要指标：各次重复的均值及 95% 置信区间"),
    "figure.cut": ("(intervals cut at the metric's possible range: with few replications the t interval reaches "
                   "past it)", "（区间在指标可能的范围处截断：重复次数少时 t 区间会超出该范围）"),
    "figure.cut_index": ("(intervals cut at the index's possible range (S1, ST: 0 to 1; mu*: 0 and up): with few "
                         "points the bootstrap interval reaches past it)",
                         "（区间在指数可能的范围处截断（S1、ST：0 到 1；mu*：不小于 0）：点数少时自助法区间会超出该范围）"),
    "figure.predictive": ("(grey, beside it: the total predictive interval, parameters drawn from the posterior)",
                          "（旁边的灰线：总预测区间，参数取自后验分布）"),
    "figure.differences": ("Differences from {name} with 95 % intervals\n(an interval clear of the line: a "
                           "difference the replications resolve)",
                           "与 {name} 之差及 95% 置信区间\n（区间不碰到竖线：重复次数足以分辨的差异）"),
    # the noisy-time ECDF and the timeline of one train
    "ecdf.series": ("{name} (median {median}, {trains} trains)", "{name}（中位数 {median}，{trains} 列车）"),
    "ecdf.x": ("noisy time share of a train (share of running time with at least one violation)",
               "一列车有噪声的时间占比（至少有一起违规的运行时间占比）"),
    "ecdf.y": ("share of trains at or below", "不超过该值的列车占比"),
    "ecdf.title": ("How noisy are the quiet cars, train by train (ECDF over trains and replications)",
                   "静音车厢有多吵：逐列车看（所有列车与重复的经验分布）"),
    "timeline.title": ("One train's quiet car, seat by seat: who is noisy when", "一列车的静音车厢，逐座位看：谁在何时吵"),
    "timeline.title_named": ("{name}: one train's quiet car, seat by seat: who is noisy when",
                             "{name}：一列车的静音车厢，逐座位看：谁在何时吵"),
    "timeline.which": ("train {train} of replication {replication} ({kind}, {cars}-car, {hours}, {stops} stops, "
                       "{pax} quiet-car passengers, {violations} violations)",
                       "第 {replication} 次重复的第 {train} 列车（{kind}，{cars} 节编组，{hours}，{stops} 站，"
                       "静音车厢旅客 {pax} 人，违规 {violations} 次）"),
    "timeline.seated_optin": ("seated, opted in", "在座，选了静音"),
    "timeline.seated_overflow": ("seated, overflow (did not opt in)", "在座，未选静音（被安排在此）"),
    "timeline.violation": ("violation: {kind}", "违规：{kind}"),
    "timeline.reminder_ok": ("peer reminder (worked)", "邻座提醒（有效）"),
    "timeline.reminder_failed": ("peer reminder (ignored)", "邻座提醒（被忽视）"),
    "timeline.complaint": ("complaint to staff", "向乘务员投诉"),
    "timeline.intervene": ("staff intervention", "乘务员干预"),
    "timeline.moved": ("moved out by staff", "被乘务员请出"),
    "timeline.patrol": ("staff patrol pass", "乘务员巡视"),
    "timeline.car": ("quiet car {n}", "静音车厢 {n}"),
    "timeline.x": ("minutes after departure (dotted lines: intermediate stops)", "发车后的分钟数（虚线：中途停站）"),
    "timeline.y": ("seat in the quiet car (5 seats a row)", "静音车厢的座位（每排 5 座）"),
    "figure.ended_by": ("Who ends violations", "由谁停止违规"),
    "figure.violation_mix": ("What breaks the silence: violations by kind", "什么打破了安静：各类违规"),
    "figure.share_of_violations": ("share of violations (mean across replications)", "占违规次数的比例（各次重复的均值）"),
    "figure.percentage_points": ("percentage points", "百分点"),
    "figure.paired": ("paired", "配对"),
    "caption.headline": ("Headline metrics of each run: mean across replications; whiskers: 95 % Student-t "
                         "interval.", "各次运行的主要指标：各次重复的均值；误差线：95% Student t 置信区间。"),
    "caption.ended_by": ("Who ends violations: share ended by the violator, a neighbour's reminder, staff, or "
                         "still running when the violator got off.",
                         "由谁停止违规：违规者自行停止、邻座提醒、乘务员制止，或违规者下车时仍未停止的比例。"),
    "caption.violation_mix": ("What breaks the silence: share of violation starts by kind.",
                              "什么打破了安静：各类违规在违规次数中的比例。"),
    "caption.noisy_time_ecdf": ("Distribution over trains of the share of running time with at least one violation "
                                "in the quiet car (every train of every replication).",
                                "各列车静音车厢有违规的运行时间占比的分布（每次重复的每一列车）。"),
    "caption.timeline": ("One train, seat by seat: grey bars are passengers on board, coloured bars violations by "
                         "kind; markers show reminders, complaints and staff interventions, dashed lines staff "
                         "patrol passes.",
                         "一列车，逐个座位：灰条是在车上的旅客，彩条是各类违规；标记为提醒、投诉和乘务员干预，"
                         "虚线为乘务员巡视。"),
    "caption.overflow_curve": ("The overflow curve: the cost in the quiet car as mean demand rises past the ordinary "
                               "seats; band: 95 % interval of the mean over replications at each point.",
                               "溢出曲线：需求超过普通座位后静音车厢付出的代价；阴影：各点重复均值的 95% 置信区间。"),
    "caption.sweep": ("A sweep: each metric against one varied key (95 % intervals over replications).",
                      "参数扫描：各指标随一个参数变化（重复的 95% 置信区间）。"),
    "caption.sensitivity": ("Sensitivity indices with their 95 % bootstrap intervals.",
                            "敏感性指数及其 95% 自助法置信区间。"),
}


def missing() -> list[str]:
    """Entries of the table without text in every language, or whose Chinese has no Chinese
    character where it should (a defect; the tests keep this empty)."""
    out = [m for m, pair in METRIC_LABELS.items()
           if len(pair) != len(LANGUAGES) or not all(part.strip() for lu in pair for part in lu)]
    out += [k for k, pair in WORDS.items() if len(pair) != len(LANGUAGES) or not all(p.strip() for p in pair)]
    return out


def zh_text() -> str:
    """Every Chinese string of the table, joined (what the bundled font must cover)."""
    parts = [part for pair in METRIC_LABELS.values() for part in pair[1]]
    parts += [pair[1] for pair in WORDS.values()]
    return "\n".join(parts)


def word(key: str, lang: str | None = None, **fields: object) -> str:
    """One word of :data:`WORDS` in ``lang`` (default: :func:`current`), ``{fields}`` filled in."""
    text = WORDS[key][_i(lang)]
    return text.format(**fields) if fields else text


def words(lang: str | None = None) -> dict[str, str]:
    """Every entry of :data:`WORDS` in one language."""
    i = _i(lang)
    return {k: pair[i] for k, pair in WORDS.items()}


#: The possible range of a metric's values, where it is bounded (shares: 0 to 1; rates: >= 0).
def bounds(metric: str) -> tuple[float, float]:
    if is_share(metric):
        return 0.0, 1.0
    return 0.0, math.inf


def fallback_label(metric: str) -> tuple[str, str]:
    """A readable label made from a metric's name (for a metric missing from the table)."""
    words_ = metric.replace(".", ", ").replace("_", " ")
    unit_ = "share" if metric.endswith(("_share", "_rate")) or metric.startswith(("ended_by.", "violation_mix.")) \
        else ""
    return words_[:1].upper() + words_[1:], unit_


def label(metric: str, lang: str | None = None) -> tuple[str, str]:
    """(what it is, unit) of a metric, in ``lang`` (default: :func:`current`)."""
    pair = METRIC_LABELS.get(metric)
    return pair[_i(lang)] if pair else fallback_label(metric)


def heading(metric: str, lang: str | None = None) -> str:
    """A metric's label with its unit in one line: "Noisy time (share of running time)"
    ("有噪声的时间（占运行时间的比例）"), as the lesson page names a number."""
    title, unit_ = label(metric, lang)
    if not unit_:
        return title
    if _i(lang) == LANGUAGES.index("zh"):
        return f"{title}，{unit_}" if title.endswith("）") else f"{title}（{unit_}）"
    return f"{title}, {unit_}" if title.endswith(")") else f"{title} ({unit_})"


def is_share(metric: str) -> bool:
    """Whether a metric is a share (shown in per cent)."""
    return label(metric, "en")[1].startswith("share")


def unit(metric: str, lang: str | None = None) -> str:
    """The unit as shown beside a value: '%' for shares, else the label's unit."""
    return "%" if is_share(metric) else label(metric, lang)[1]


def number(v: Any) -> str:
    """A number: three significant digits, thousands separated, never scientific notation;
    a dash for undefined."""
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return "–" if v is None else str(v)
    x = float(v)
    if math.isnan(x):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    digits = max(0, 2 - math.floor(math.log10(a)))
    text = f"{x:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "0") else text


def value(metric: str, v: Any, difference: bool = False, lang: str | None = None) -> str:
    """A metric's value in its unit: shares as '12.3 %' (a difference of shares as '-4.1 pp',
    in Chinese '-4.1 个百分点')."""
    if is_share(metric) and isinstance(v, (int, float)) and not isinstance(v, bool) and v == v:
        return f"{number(100 * v)} {word('unit.pp', lang) if difference else '%'}"
    return number(v)


#: Marks an interval cut at its metric's possible range (see :func:`cut`); :func:`cut_note` says why.
CUT_MARK = "†"


def cut_note(lang: str | None = None) -> str:
    """The footnote under a table holding an interval marked with :data:`CUT_MARK`."""
    return f"{CUT_MARK} {word('note.cut', lang)}"


def cut(metric: str, lo: Any, hi: Any, difference: bool = False) -> tuple[Any, Any, bool]:
    """(low, high, whether cut): an interval limited to the values the metric can take (of a
    difference: -1 to 1 for shares, unbounded otherwise). Undefined ends are left as they are."""
    low, high = bounds(metric)
    if difference:
        low, high = low - high, high - low
    if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo == lo and hi == hi):
        return lo, hi, False
    was = (lo, hi)
    lo, hi = min(max(lo, low), high), max(min(hi, high), low)  # both ends inside, even if all of it is beyond
    return lo, hi, (lo, hi) != was


def interval(metric: str, mean: Any, lo: Any, hi: Any, difference: bool = False, lang: str | None = None) -> str:
    """'mean [low, high]' in the metric's unit (the unit written once, after the mean); an
    interval reaching past the metric's possible range is cut there and marked with
    :data:`CUT_MARK` (print :func:`cut_note` below a table that holds one)."""
    if lo is None or lo != lo:
        return value(metric, mean, difference, lang)
    lo, hi, was_cut = cut(metric, lo, hi, difference)
    mark = CUT_MARK if was_cut else ""
    if is_share(metric):
        return f"{value(metric, mean, difference, lang)} [{number(100 * lo)}, {number(100 * hi)}]{mark}"
    return f"{number(mean)} [{number(lo)}, {number(hi)}]{mark}"
