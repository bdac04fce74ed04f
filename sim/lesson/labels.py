"""Every word the lesson page shows, in Simplified Chinese and English.

The words the page shares with the console and the report come from the one table of
:mod:`sim.present.labels`, never from a copy here:

* ``metric.<name>``: a metric of :mod:`sim.run.metrics` by its output name, with its unit
  (:func:`sim.present.labels.heading`), or a count of the journey (``count.*`` there);
* ``unit.<name>``, ``kind.<k>``, ``ender.<w>``: units, the model's violation kinds, who ended
  a violation.

Only the page's own words are kept here (:data:`PAGE`), keyed by stable names:

* ``lever.<name>`` / ``choice.<lever>.<value>``: a lever of :mod:`sim.demo.levers` and its choices;
* ``occupant.<n>``, ``staff.*``, ``bubble.*``: who sits in a seat, who walks through, what a seat says;
* ``event.<what>``: a line of "what just happened", with ``{seat}``, ``{kind}``, ``{off}``,
  ``{on}``, ``{station}`` filled in;
* ``ui.<name>``: the page's own buttons, headings and messages.

A label without a translation is a defect: ``missing()`` lists them, and a test keeps it empty.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..present import labels as shared
from ..present.labels import LANGUAGES, check_language

#: The page's own words: key -> (English, Chinese).
PAGE: dict[str, tuple[str, str]] = {
    # --- levers (sim.demo.levers names) and their choices ------------------------------------------
    "lever.overflow": ("Unsold quiet seats go to", "未售出的静音座位卖给"),
    "lever.load": ("Demand: seats wanted per seat", "需求：每个座位的购票人数"),
    "lever.patrol": ("Staff walk through every (minutes)", "乘务员巡视间隔（分钟）"),
    "lever.peers": ("Neighbours ready to remind (chance)", "邻座出言提醒的概率"),
    "lever.contagion": ("Contagion: noise invites noise", "传染：噪声引来更多噪声"),
    "lever.family": ("Families with a baby are", "带婴儿的家庭"),
    "choice.overflow.never": ("nobody: only those who chose quiet", "不卖：只给选了静音的人"),
    "choice.overflow.when_sold_out": ("anyone, once other seats sell out", "其他座位售罄后卖给任何人"),
    "choice.overflow.release_hours_before": ("anyone, in the last hours", "发车前几小时卖给任何人"),
    "choice.overflow.with_agreement": ("anyone who then agrees to be quiet", "当场同意保持安静的人"),
    "choice.family.none": ("treated like everyone", "与其他人相同"),
    "choice.family.advise": ("advised not to book", "建议不要预订"),
    "choice.family.exclude": ("kept out", "不得预订"),
    # --- who sits where, who walks through, what a seat says ------------------------------------------
    "occupant.0": ("empty seat", "空座"),
    "occupant.1": ("chose the quiet car", "选了静音车厢"),
    "occupant.2": ("did not choose it (seated here)", "未选静音（被安排在此）"),
    "occupant.3": ("family with a baby", "带婴儿的家庭"),
    "staff.patrol": ("staff walking through", "乘务员巡视"),
    "staff.called": ("staff called by a complaint", "乘务员应投诉而来"),
    "bubble.reminder_ok": ("Shh! ✔", "嘘！✔"),
    "bubble.reminder_failed": ("Shh! ✖", "嘘！✖"),
    "bubble.complaint": ("complaint", "投诉"),
    "bubble.intervene": ("staff", "乘务员"),
    "bubble.moved": ("moved out", "调离"),
    # --- what just happened -----------------------------------------------------------------------------
    "event.station": ("station {station}: {off} off, {on} on", "{station} 站：下车 {off} 人，上车 {on} 人"),
    "event.start": ("{seat}: {kind} starts", "{seat}：开始{kind}"),
    "event.start_overflow": ("{seat}: {kind} starts (did not choose quiet)", "{seat}：开始{kind}（未选静音）"),
    "event.end_self": ("{seat} stops by themselves", "{seat} 自行停止"),
    "event.end_peer": ("a neighbour reminds {seat}: it stops", "邻座提醒 {seat}：停止了"),
    "event.end_staff": ("staff speak to {seat}: it stops", "乘务员提醒 {seat}：停止了"),
    "event.end_alighting": ("{seat} gets off still noisy", "{seat} 下车时仍在吵"),
    "event.reminder_failed": ("a neighbour reminds {seat}: ignored", "邻座提醒 {seat}：没用"),
    "event.complaint": ("a neighbour of {seat} tells the staff", "{seat} 的邻座向乘务员投诉"),
    "event.moved": ("{seat} is moved to an ordinary car", "{seat} 被调到普通车厢"),
    "event.patrol": ("staff walk through the car", "乘务员巡视车厢"),
    # --- the page ------------------------------------------------------------------------------------------
    "ui.title": ("The quiet car: pull the levers", "静音车厢：动手调一调"),
    "ui.subtitle": ("One quiet car through one journey. Change a lever and watch the same train again.",
                    "一节静音车厢的一次旅程。调整一个参数，再看同一列车。"),
    "ui.language": ("中文", "English"),
    "ui.play": ("Play", "播放"),
    "ui.pause": ("Pause", "暂停"),
    "ui.back": ("Step back", "后退"),
    "ui.forward": ("Step forward", "前进"),
    "ui.restart": ("Start again", "从头开始"),
    "ui.speed": ("Speed", "速度"),
    "ui.minute": ("Minute {minute} of {total}", "第 {minute} 分钟 / 共 {total} 分钟"),
    "ui.at_station": ("at station {station}", "停靠 {station} 站"),
    "ui.between": ("between {a} and {b}", "{a} 站与 {b} 站之间"),
    "ui.front": ("front", "车头"),
    "ui.back_of_car": ("back", "车尾"),
    "ui.aisle": ("aisle", "过道"),
    "ui.setting_a": ("Setting A", "方案 A"),
    "ui.setting_b": ("Setting B", "方案 B"),
    "ui.compare": ("Compare two settings", "比较两个方案"),
    "ui.compare_off": ("Show one setting", "只看一个方案"),
    "ui.seed": ("Train number (seed)", "列车编号（随机种子）"),
    "ui.busy": ("Simulating the train…", "正在模拟列车……"),
    "ui.not_saved": ("This combination is not in the saved lesson. Saved values: {values}",
                     "保存的课程里没有这个组合。可用的值：{values}"),
    "ui.error": ("Could not run this setting: {message}", "无法运行此方案：{message}"),
    "ui.happened": ("What just happened", "刚刚发生了什么"),
    "ui.so_far": ("So far on this train", "本次列车到目前为止"),
    "ui.final": ("The whole journey", "整个旅程"),
    "ui.difference": ("B minus A", "B 减 A"),
    "ui.same_levers": ("the same levers as the other setting", "参数与另一方案相同"),
    "ui.violations_by_kind": ("Violations by kind", "各类违规"),
    "ui.who_ended": ("Who ended them", "由谁停止"),
    "ui.noise_now": ("Noisy now", "正在吵"),
    "ui.disturbed_now": ("Disturbed now", "正被打扰"),
    "ui.on_board": ("On board", "在车上"),
    "ui.legend": ("Who sits where", "座位上是谁"),
    "ui.halo": ("reached by the noise", "受噪声影响的范围"),
    "ui.keys": ("Keys: space play/pause, ← → step, + − speed, Home start again, L language",
                "按键：空格 播放/暂停，← → 逐步，+ − 速度，Home 从头开始，L 切换语言"),
    "ui.offline": ("This saved lesson works without a network.", "这份保存的课程无需网络。"),
    "ui.grid_only": ("This saved page carries only the values in each list; the greyed levers stay fixed. "
                     "For any other value, run quietcar lesson (or save it with --levers).",
                     "这份保存的课程只有每个列表中的取值；不能选的参数保持不变。"
                     "需要别的取值时，请运行 quietcar lesson（或用 --levers 保存）。"),
    "ui.fixed": ("fixed in this saved page", "在这份保存的课程中不变"),
    "ui.not_in_grid": ("{lever}: the scenario's value {value} is not saved in this page; it starts at {shown}.",
                       "{lever}：场景的取值 {value} 没有保存在这份课程里，从 {shown} 开始。"),
}


#: Counts of one journey the page shows beside its metrics (sim.lesson.journey.COUNTS and the plan).
COUNTS: tuple[str, ...] = ("violations", "passengers", "chained")


def _shared() -> dict[str, tuple[str, str]]:
    """The page's keys for the shared words: every metric with its unit, the counts, units,
    kinds and enders, in both languages, all from :mod:`sim.present.labels`."""
    out = {f"metric.{m}": tuple(shared.heading(m, lang) for lang in LANGUAGES) for m in shared.METRIC_LABELS}
    out.update({f"metric.{c}": shared.WORDS[f"count.{c}"] for c in COUNTS})
    out.update({k: v for k, v in shared.WORDS.items() if k.startswith(("unit.", "kind.", "ender."))})
    return out


#: Every word of the page: the shared ones, then the page's own (a key in both is a defect).
LABELS: dict[str, tuple[str, ...]] = {**_shared(), **PAGE}


def missing() -> list[str]:
    """Keys whose translation is empty (a defect; the tests keep this empty)."""
    return [k for k, pair in LABELS.items() if len(pair) != len(LANGUAGES) or not all(p.strip() for p in pair)]


def table(lang: str) -> dict[str, str]:
    """Every label in one language (what the page embeds)."""
    i = LANGUAGES.index(check_language(lang))
    return {k: pair[i] for k, pair in LABELS.items()}


def label(key: str, lang: str = "en", **fields: object) -> str:
    """One label in ``lang``, with its ``{fields}`` filled in."""
    text = table(lang)[key]
    return text.format(**fields) if fields else text


def untranslated(keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` that the table does not have (e.g. a lever added since)."""
    return [k for k in keys if k not in LABELS]
