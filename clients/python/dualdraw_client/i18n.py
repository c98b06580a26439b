"""Messages of the ``dualdraw`` command in the reader's language: English (the source strings) or Chinese.

``--lang zh`` (before the command) or a Chinese locale (``LC_ALL``, ``LC_MESSAGES`` or ``LANG`` starting
with ``zh``, e.g. ``zh_CN.UTF-8``) selects Chinese; ``--lang en`` forces English. :func:`_` looks a string
up in :data:`ZH`; a string the catalogue lacks stays English. Table headers and ``key  value`` labels are
looked up by the output module, help summaries by the command registration, so a caller writes English.
Format strings keep their ``{name}`` fields, filled after the look-up: ``_("wrote {n}").format(n=3)``.
Machine output (``--json``, exit codes, CSV) never changes with the language.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Final

LANGUAGES: Final = ("en", "zh")

ZH: Final[dict[str, str]] = {
    # -- help summaries -------------------------------------------------------------------------------
    "inspection tasks": "抽查任务",
    "create an inspection task": "创建抽查任务",
    "list tasks": "列出抽查任务",
    "show one task": "查看一个抽查任务",
    "run the draw of a task and show its teams": "对任务进行抽取并显示检查组",
    "completed draws": "已完成的抽取",
    "show one draw": "查看一次抽取",
    "list draws": "列出抽取记录",
    "write a draw's verification bundle (streamed)": "导出抽取的验证包（流式）",
    "verify a draw bundle offline (no server, no database)": "离线验证抽取包（无需服务器和数据库）",
    "selected objects of a draw and their teams": "抽中的检查对象及其检查组",
    "objects a rule removed from a draw": "被规则排除的检查对象",
    "the audit log": "审计日志",
    "the tamper-evident audit log (also: audit verify)": "防篡改审计日志（亦可用：audit verify）",
    "recompute the Merkle log and check its signed checkpoints": "重新计算 Merkle 日志并核对签名检查点",
    "inspection results and their publication (Art. 12-14)": "检查结果及其公示（第十二至十四条）",
    "record the result of an assignment": "录入一项抽查的检查结果",
    "correct a result: a new version with a reason": "更正检查结果：附理由生成新版本",
    "current results": "当前检查结果",
    "every version of one result": "一项检查结果的全部版本",
    "publish the results of a draw recorded so far (as they come)": (
        "公示某次抽取已录入的检查结果（随录随公示）"
    ),
    "draws past the 20-working-day publication deadline (counted from the draw)": (
        "超过20个工作日公示期限的抽取（自抽取之日起算）"
    ),
    "check, test, explain and preview rule files (no server needed)": (
        "检查、测试、解释和预览规则文件（无需服务器）"
    ),
    "validate rule files: file:line:column for every problem": "校验规则文件：逐条列出问题所在的文件:行:列",
    "machine output: JSON (lists: one object a line)": "机器可读输出：JSON（列表每行一个对象）",
    "language of messages and help: en or zh (default: from LANG)": (
        "提示和帮助的语言：en 或 zh（默认取自 LANG）"
    ),
    "print a shell completion script": "输出命令行自动补全脚本",
    # -- table headers --------------------------------------------------------------------------------
    "ID": "编号",
    "TASK": "任务",
    "AS OF": "基准日",
    "CREATED": "创建时间",
    "ACTOR": "操作人",
    "IN SCOPE": "范围内",
    "EXCLUDED": "已排除",
    "ELIGIBLE": "可抽取",
    "SELECTED": "抽中",
    "ENTROPY": "随机源",
    "ITEM": "抽查事项",
    "DEPARTMENT": "部门",
    "RATIO": "比例",
    "TEAM": "检查组",
    "REGION": "区域",
    "INDUSTRIES": "行业",
    "DRAW": "抽取",
    "TITLE": "标题",
    "POS": "序号",
    "VER": "版本",
    "CREDIT CODE": "统一社会信用代码",
    "OUTCOME": "检查结果",
    "INSPECTED": "检查日期",
    "BY": "录入人",
    "REASON": "原因",
    "OBJECT": "检查对象",
    "STRATUM": "层级",
    "NAME": "名称",
    "RULE": "规则",
    "CATEGORY": "类别",
    # -- labels of a draw -----------------------------------------------------------------------------
    "draw": "抽取",
    "task": "任务",
    "as of": "基准日",
    "created": "创建",
    "algorithm": "算法",
    "seed": "种子",
    "entropy": "随机源",
    "entropy note": "随机源说明",
    "manifest hash": "清单哈希",
    "rule set": "规则集",
    "ratio": "比例",
    "team size": "检查组人数",
    "in scope": "范围内",
    "excluded": "已排除",
    "eligible": "可抽取",
    "selected": "抽中",
    "eligible digest": "可抽取集摘要",
    "inspector pool digest": "执法人员库摘要",
    # -- messages -------------------------------------------------------------------------------------
    "(* team leader)": "（* 组长）",
    "committed: its selection is unknown until the entropy exists; once the beacon round is produced: "
    "dualdraw draw execute {draw_id} --beacon-value SIGNATURE": (
        "已承诺：随机源产生之前无人知道抽取结果；信标轮次产生后执行：dualdraw draw execute {draw_id} "
        "--beacon-value 签名"
    ),
    "once the beacon round is produced: dualdraw draw execute-substitution {id} --beacon-value SIGNATURE": (
        "信标轮次产生后执行：dualdraw draw execute-substitution {id} --beacon-value 签名"
    ),
    "error": "错误",
    "interrupted": "已中断",
    "wrote {size} bytes (SHA-256 {sha256}) to {path}; check: dualdraw verify {path}": (
        "已写入 {size} 字节（SHA-256 {sha256}）到 {path}；核验：dualdraw verify {path}"
    ),
    "MATCH ({seconds:.2f}s)": "一致：验证通过（{seconds:.2f} 秒）",
    "MISMATCH: {problem}": "不一致：{problem}",
    "note: {note}": "注意：{note}",
    "OK: {size} entries, root {root}, {checkpoints} signed checkpoints (key {keys})": (
        "正常：{size} 条记录，根哈希 {root}，已核对 {checkpoints} 个签名检查点（密钥 {keys}）"
    ),
    "OK: {size} entries, root {root}, {checkpoints} signed checkpoints (keys {keys})": (
        "正常：{size} 条记录，根哈希 {root}，已核对 {checkpoints} 个签名检查点（密钥依次为 {keys}）"
    ),
    " -- DEVELOPMENT KEY, not pinned": " —— 开发密钥，未固定",
    "OK: {draws} draws re-derived from their stored rows": "正常：{draws} 次抽取已由存储数据重新推导一致",
    "TAMPERED: first bad entry {sequence}: {problem}": "已被篡改：首个异常记录 {sequence}：{problem}",
    "TAMPERED: draw {draw} no longer matches its commitments ({draws} draws checked): {problem}": (
        "已被篡改：抽取 {draw} 与其承诺不再一致（已核对 {draws} 次抽取）：{problem}"
    ),
    "ok: {rules} rules in {files} files, version {version} ({seconds:.2f} s)": (
        "通过：{files} 个文件中共 {rules} 条规则，版本 {version}（{seconds:.2f} 秒）"
    ),
    "{count} problem(s)": "{count} 个问题",
    # -- progress -------------------------------------------------------------------------------------
    "importing": "正在导入",
    "exporting": "正在导出",
    "reading": "正在读取",
    "verifying": "正在验证",
    "drawing": "正在抽取",
    "evaluating rules": "正在评估规则",
}
"""Chinese for the English source strings."""

_current = "en"


def language_from(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> str:
    """The language asked for: ``--lang X`` / ``--lang=X`` in ``argv``, else the locale variables."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return _normalise(argv[i + 1])
        if arg.startswith("--lang="):
            return _normalise(arg.partition("=")[2])
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:  # the first one set decides (POSIX precedence)
            return _normalise(value)
    return "en"


def _normalise(value: str) -> str:
    return "zh" if value.strip().lower().startswith("zh") else "en"


def set_language(language: str) -> None:
    """Makes :func:`_` answer in ``language`` (one of :data:`LANGUAGES`; anything else means English)."""
    global _current
    _current = language if language in LANGUAGES else "en"


def language() -> str:
    return _current


def _(text: str) -> str:
    """``text`` in the current language (unchanged when English or not in the catalogue)."""
    if _current == "zh":
        return ZH.get(text, text)
    return text
