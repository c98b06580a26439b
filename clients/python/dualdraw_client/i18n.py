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

from .help_zh import HELP_ZH

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
    # -- the report ---------------------------------------------------------------------------------
    "write an HTML file of charts: draws, exclusions, re-draws, workload, plan progress": (
        "生成图表报告（HTML）：抽取、排除、作废重抽、工作量、计划进度"
    ),
    "the HTML file to write": "要写入的 HTML 文件",
    "only this task's draws": "只含该任务的抽取",
    "dualdraw report": "双随机抽查统计报告",
    "read from {server} at {time}": "数据取自 {server}，时间 {time}",
    "numbers": "数据表",
    "no data": "暂无数据",
    "draws per department": "各部门抽取次数",
    "objects per department: in scope, excluded, drawn": "各部门检查对象：范围内、已排除、抽中",
    "exclusions per rule": "各排除规则排除的对象数",
    "workload per inspector: assignments, as team leader": "执法检查人员工作量：参加检查、任组长",
    "abandoned draws and re-draws per department": "各部门作废与重抽",
    "plan progress: objects drawn, inspected, published": "年度计划进度：已抽取、已检查、已公示的对象",
    "{plan} {item}, period {period}": "{plan} {item} 第 {period} 期",
    "wrote {charts} charts to {path}": "已将 {charts} 张图表写入 {path}",
    "department": "部门",
    "rule": "规则",
    "inspector": "执法检查人员",
    "plan entry": "计划事项",
    "draws": "抽取次数",
    "abandoned": "作废次数",
    "tasks re-drawn": "重抽任务数",
    "assignments": "参加检查",
    "as leader": "任组长",
    "drawn": "已抽取",
    "inspected": "已检查",
    "published": "已公示",
    # -- table headers and labels of the other commands ------------------------------------------------------
    "#": "序号",
    "ACTION": "操作",
    "AVAILABLE": "可用",
    "BADGE": "执法证号",
    "BUSINESS LINE": "业务条线",
    "BUSINESS LINES": "业务条线",
    "CHANGED": "变更",
    "CODE": "代码",
    "CONFLICTS": "利害关系",
    "COST": "费用",
    "DAYS": "天数",
    "DAYS/INSPECTION": "人日/次",
    "DEADLINE": "公示期限",
    "DEPARTMENTS": "部门",
    "DRAWN": "已抽取",
    "DRAWS": "抽取",
    "EFFECTIVE": "生效日期",
    "ENTRIES": "计划事项数",
    "ENTRY": "计划事项",
    "EVIDENCE": "依据",
    "FREQUENCY": "频次",
    "FROM": "原层级",
    "IMPORTED": "已导入",
    "INDUSTRY": "行业",
    "INSPECTION ENDED": "检查结束",
    "INSPECTIONS": "检查次数",
    "INSPECTOR-DAYS": "人日",
    "KIND": "类别",
    "LEGAL BASIS OF CHANGE": "变更依据",
    "LEVEL": "层级",
    "OFFICE": "所（科）",
    "OVERDUE (WORKING DAYS)": "逾期（工作日）",
    "OVERDUE": "逾期",
    "PARENT": "上级部门",
    "PERIOD": "期次",
    "PLAN": "计划",
    "PUBLISHED": "已公示",
    "REQUEST ID": "请求编号",
    "RESOURCE": "资源",
    "RISK": "风险分类",
    "SEQ": "序号",
    "SPECIALITIES": "专业",
    "SPECIALITY": "专业",
    "STATE": "状态",
    "STATUS": "状态",
    "SUMMARY": "摘要",
    "TIME": "时间",
    "TO": "新层级",
    "UNPUBLISHED": "未公示",
    "UNRECORDED": "未录入",
    "VERSION": "版本",
    "WINDOW": "实施期间",
    "YEAR": "年度",
    # -- the credit push (credit status) --
    "ATTEMPTS": "尝试次数",
    "NEXT ATTEMPT": "下次尝试",
    "DELIVERED": "送达时间",
    "RECEIPT": "回执",
    "LAST ERROR": "最近错误",
    "pending": "待推送",
    "delivered": "已送达",
    "failed": "推送失败",
    "after": "变更后",
    "attachments": "附件",
    "before": "变更前",
    "business line": "业务条线",
    "business lines": "业务条线",
    "category": "类别",
    "change": "变化",
    "checkpoint": "检查点",
    "content hash": "内容哈希",
    "correction reason": "更正理由",
    "credit code": "统一社会信用代码",
    "deadline": "公示期限",
    "default ratio": "默认比例",
    "findings": "检查发现",
    "frequency cap": "频次上限",
    "id": "编号",
    "in force": "有效期",
    "industries": "行业",
    "industry": "行业",
    "inspected on": "检查日期",
    "inspection ended": "检查结束",
    "inspector days/month": "每人每月工作日",
    "item": "抽查事项",
    "jurisdictions": "适用辖区",
    "key id": "密钥编号",
    "kind": "类别",
    "legal basis": "法律依据",
    "name": "名称",
    "note verifier key": "签名文本验证密钥",
    "object": "检查对象",
    "office": "所（科）",
    "outcome": "检查结果",
    "penalty decision": "处罚决定书",
    "plan": "计划",
    "position": "序号",
    "public key": "公钥",
    "published at": "公示时间",
    "reason": "原因",
    "record": "记录",
    "recorded at": "录入时间",
    "recorded by": "录入人",
    "referred to judicial organs": "移送司法机关",
    "region": "区域",
    "removed": "被替换人员",
    "replacement": "替补人员",
    "results published": "已公示结果",
    "revision": "修订版次",
    "risk class": "信用风险分类",
    "risk": "风险",
    "root": "根哈希",
    "signature": "签名",
    "source": "来源",
    "speciality": "专业",
    "state": "状态",
    "status": "状态",
    "substitution": "补抽",
    "target scope": "抽查对象范围",
    "title": "标题",
    "tree size": "日志长度",
    "verification": "核验",
    "version": "版本",
    "year": "年度",
    "{records} record(s); checkpoint {checkpoint} (pass --since {checkpoint} next time)": (
        "{records} 条记录；检查点 {checkpoint}（下次请用 --since {checkpoint}）"
    ),
    "departments": "部门",
    "objects": "检查对象",
    "inspectors": "执法检查人员",
    "complaints": "投诉举报",
    "campaigns": "专项检查",
    "risk assessments": "风险评估",
    "statutory designations": "法定检查方式",
    # -- messages of the other commands ----------------------------------------------------------------------
    (
        "note: the request may or may not have been applied; to retry safely, repeat the command with "
        "--request-id {request_id}"
    ): ("注意：该请求可能已执行，也可能未执行；如需安全重试，请加 --request-id {request_id} 重新执行该命令"),
    "(none)": "（无）",
    "(default) 1 per year": "（默认）每年 1 次",
    "{plan} version {version}, entry {entry}, period {period}": (
        "{plan} 第 {version} 版，计划事项 {entry}，第 {period} 期"
    ),
    " (rehearsal)": "（演练）",
    "{n} per year": "每年 {n} 次",
    "(whole territory)": "（整个辖区）",
    "(all)": "（全部）",
    "(not drawn)": "（尚未抽取）",
    "{read} records read from {files} file(s); imported at {time}": (
        "从 {files} 个文件读取 {read} 条记录；导入时间 {time}"
    ),
    "{kind} {key}: {source} -> {target}": "{kind} {key}：{source} -> {target}",
    "{kind} {key} is in {target} already: nothing changed": "{kind} {key} 已属于 {target}：未作变更",
    "yes": "是",
    "no": "否",
    "{code} (to {expires})": "{code}（有效期至 {expires}）",
    "plan {plan} version {version}, directory and rules as of {as_of}": (
        "计划 {plan} 第 {version} 版，名录和规则基准日 {as_of}"
    ),
    # -- directory filing (Art. 7) --
    "FILING": "备案",
    "OBJECTS": "检查对象",
    "INSPECTORS": "执法检查人员",
    "EXPERTS": "专家",
    "INSTITUTIONS": "检验检测机构",
    "DIGEST": "摘要",
    "SUBMITTED": "报送时间",
    "LATEST": "最近备案",
    "ACKNOWLEDGED": "已确认备案",
    "DIRECTORY": "名录",
    "KEY": "标识",
    "CHANGE": "变化",
    "filing": "备案",
    "experts": "专家",
    "testing institutions": "检验检测机构",
    "filed with": "报送部门",
    "digest": "摘要",
    "submitted": "已报送",
    "acknowledged": "已确认",
    "returned": "已退回",
    "never filed": "从未备案",
    "stale": "已过期（名录已变化）",
    "added": "新增",
    "removed record": "移除",
    "changed": "变更",
    "note": "说明",
    "decided": "处理",
    "return reason": "退回理由",
    "return note": "退回说明",
    "superseded by": "已被替代",
    "level-jurisdiction": "级别管辖",
    "territorial-jurisdiction": "属地管辖",
    "professional-requirements": "专业要求",
    "inspector-numbers": "执法检查人员数量",
    "incomplete": "记录不全",
    "inaccurate": "记录有误",
    "other": "其他",
    "plan {plan} version {version} as of {as_of}": "计划 {plan} 第 {version} 版，截至 {as_of}",
    "no shortfall: the qualified inspectors cover every period": (
        "无缺口：具备资格的执法检查人员足以覆盖每一期次"
    ),
    "{time} by {actor}": "{time}，{actor}",
    "shortfall: {shortfall}": "缺口：{shortfall}",
    "overdue": "逾期",
    "RECORDED": "已录入",
    "nothing changed since the last publication": "自上次公布以来没有变化",
    "(LATE)": "（逾期）",
    "reloaded: version {version}, {rules} rules, {cases} test cases passed": (
        "已重新载入：版本 {version}，{rules} 条规则，{cases} 个测试用例通过"
    ),
    "unchanged: version {version}, {rules} rules, {cases} test cases passed": (
        "无变化：版本 {version}，{rules} 条规则，{cases} 个测试用例通过"
    ),
    "error: department {department} loses more than {share} of its eligible objects": (
        "错误：部门 {department} 的可抽取对象减少超过 {share}"
    ),
    "not excluded": "未被排除",
    "draw {draw} with rule set {hash}: match": "抽取 {draw} 按规则集 {hash} 复算：一致",
    "draw {draw} with rule set {hash}: MISMATCH": "抽取 {draw} 按规则集 {hash} 复算：不一致",
    "rule set {version} ({hash})": "规则集 {version}（{hash}）",
    "{code} at {as_of}: {verdict}": "{code} 于 {as_of}：{verdict}",
    "rules {base} → {head}": "规则 {base} → {head}",
    "eligible again from {day}": "自 {day} 起重新可抽取",
    "all": "全部",
    "matched {kind} {ref}: {values}": "匹配 {kind} {ref}：{values}",
    "stored but not found now: {pair}": "已存储但现在未发现：{pair}",
    "found now but not stored: {pair}": "现在发现但未存储：{pair}",
    "substitutions per department:": "各部门补抽次数：",
    "substitutions per inspector (removed):": "各执法检查人员被替换次数：",
    "abandoned draws: {count}": "作废抽取：{count} 次",
    (
        "KEY CHANGED: checkpoints were signed by {count} keys, in this order: {keys}; check that each is "
        "one of yours (a rotation), not a server restarted with another key"
    ): (
        "密钥已变更：检查点先后由 {count} 个密钥签名，依次为 {keys"
        "}；请确认每个密钥都属于本单位（正常轮换），而不是服务器换用其他密钥重启"
    ),
    "checkpoint {size} was signed before the note form: it has no note": (
        "检查点 {size} 签署于签名文本格式之前：没有签名文本"
    ),
    "(awaiting the beacon)": "（等待随机信标）",
    # -- messages of the local commands (db, demo, keygen, rules, publish site) -------------------------
    "demo: the database holds objects already; nothing loaded": "演示：数据库中已有检查对象，未载入",
    "(empty: no migration applied)": "（空：尚未执行任何迁移）",
    "wrote {path}; public key {key}": "已写入 {path}；公钥 {key}",
    "set DUALDRAW_AUDIT_KEY_FILE={path} for `serve`": "运行 `serve` 时请设置 DUALDRAW_AUDIT_KEY_FILE={path}",
    "migrated {url} to {revision}": "已将 {url} 迁移到 {revision}",
    "demo loaded: {counts}": "演示数据已载入：{counts}",
    "demo plan {plan} ({department} {year}, published): {entries}": (
        "演示计划 {plan}（{department} {year} 年，已公布）：{entries}"
    ),
    "backed up {url} to {file}": "已将 {url} 备份到 {file}",
    "dualdraw events: {problem}": "dualdraw events：{problem}",
    "dualdraw events: no stream {stream} at {url} (has a server with DUALDRAW_EVENTS_URL started?)": (
        "dualdraw events：{url} 上没有事件流 {stream}（是否已有设置了 DUALDRAW_EVENTS_URL 的服务启动过？）"
    ),
    "restored {url} from {file}": "已从 {file} 恢复 {url}",
    (
        "{passed}/{cases} cases passed in {files} files; coverage: rules {rules:.1f} %, conditions "
        "{conditions:.1f} % ({seconds:.2f} s)"
    ): (
        "{files} 个文件中 {passed}/{cases} 个用例通过；覆盖率：规则 {rul"
        "es:.1f} %，条件 {conditions:.1f} %（{seconds:.2f} 秒）"
    ),
    "{code} {name} at {as_of} ({department}): {verdict}": (
        "{code} {name} 于 {as_of}（{department}）：{verdict}"
    ),
    "coverage {lowest:.1f} % is below the required {required:g} %": (
        "覆盖率 {lowest:.1f} % 低于要求的 {required:g} %"
    ),
    "eligible again from {day} (if the facts stay as they are)": "自 {day} 起重新可抽取（如相关事实不变）",
    "rules {base} ({revision}) → {head} (working tree)": "规则 {base}（{revision}）→ {head}（工作区）",
    (
        "error: department {department} would lose {share:.1%} of its eligible objects (more than "
        "--max-share {max_share})"
    ): ("错误：部门 {department} 将失去 {share:.1%} 的可抽取对象（超过 --max-share {max_share}）"),
    "ok  ": "通过",
    "FAIL": "失败",
    "department {department}: +{excluded} excluded, -{included} ({share:.1%} of {eligible} eligible)": (
        "部门 {department}：新增排除 {excluded}，重新纳入 {in"
        "cluded}（占 {eligible} 个可抽取对象的 {share:.1%}）"
    ),
    "no object changes": "没有对象发生变化",
    "not covered: {line}": "未覆盖：{line}",
    "exported {count} records to {path}": "已将 {count} 条记录导出到 {path}",
    "risk class {risk}: {counts}": "信用风险分类 {risk}：{counts}",
    "stops matching on {day}": "自 {day} 起不再匹配",
    (
        "site written to {path}: {items} items, {draws} draws, {results} results, {objects} object "
        "pages, {plans} plan versions"
    ): (
        "网站已写入 {path}：{items} 项事项，{draws} 次抽取，{re"
        "sults} 条结果，{objects} 个对象页面，{plans} 个计划版本"
    ),
    # -- progress -------------------------------------------------------------------------------------
    "importing": "正在导入",
    "exporting": "正在导出",
    "reading": "正在读取",
    "verifying": "正在验证",
    "drawing": "正在抽取",
    "evaluating rules": "正在评估规则",
    "assistant": "辅助人员",
    "RULES": "抽查规则",
    "COOPERATING": "配合部门及执法类别",
    "rules": "抽查规则",
    "cap {n}/year": "每年至多 {n} 次",
    "no cap": "不限次数",
    "raise at {n} complaints/{days}d": "{days} 天内投诉 {n} 次即上调",
    "no complaint raise": "不因投诉上调",
    "raise on serious violation": "严重违法即上调",
    "no serious-violation raise": "不因严重违法上调",
    " to {risk_class}": "至 {risk_class} 类",
    "other level: {handling}": "他级已抽对象：{handling}",
    "exclude": "排除",
    "join": "合并检查",
    "whole plan: {inspections} inspections, {days} inspector-days, cost {cost} yuan (testing fees {fees})": (
        "全年计划：检查 {inspections} 次，{days} 人日，费用 {cost} 元（检验检测费 {fees}）"
    ),
    "per inspection": "每次检查",
    "one unqualified assistant per team allowed": "每组可有一名无资格的辅助人员",
    "{n} inspectors × {days} days, {cost} yuan": "{n} 名执法检查人员 × {days} 天，{cost} 元",
    " + {fee} yuan testing fees": " + 检验检测费 {fee} 元",
    # -- evidence files -------------------------------------------------------------------------------
    "uploading": "正在上传",
    "downloading": "正在下载",
    "SHA-256": "SHA-256 哈希值",
    "SIZE": "大小（字节）",
    "TYPE": "类型",
    "FILE": "文件名",
    "UPLOADED BY": "上传人",
    "UPLOADED AT": "上传时间",
    "size (bytes)": "大小（字节）",
    "content type": "内容类型",
    "file name": "原文件名",
    "uploaded by": "上传人",
    "uploaded at": "上传时间",
    "stored {name} ({size} bytes, {content_type})": "已存储 {name}（{size} 字节，{content_type}）",
    "wrote {size} bytes (SHA-256 {sha256}, checked) to {path}": (
        "已将 {size} 字节写入 {path}（SHA-256 {sha256}，已核验）"
    ),
    "OK: {count} evidence files exist with their recorded SHA-256": (
        "正常：{count} 个证据文件均存在且 SHA-256 与记录一致"
    ),
    "MISSING: {name}: no file at {location}": "缺失：{name}：{location} 处没有文件",
    "ALTERED: {name}: {location} holds {size} bytes with SHA-256 {sha256}": (
        "已被改动：{name}：{location} 处的文件为 {size} 字节，SHA-256 为 {sha256}"
    ),
    "{count} of {checked} evidence files are missing or altered": (
        "{checked} 个证据文件中有 {count} 个缺失或已被改动"
    ),
    # -- after the draw: follow-ups and objections --
    "follow-up": "后续处置",
    "result": "检查结果",
    "opened on": "启动日期",
    "due on": "办理期限",
    "evidence": "证据",
    "opened by": "启动人",
    "rectified": "已整改到位",
    "not rectified": "未整改到位",
    "re-inspection": "复查",
    "closed": "办结",
    "closing text": "办理结果",
    "FOLLOW-UP": "后续处置",
    "RESULT": "检查结果",
    "DUE": "办理期限",
    "department {department}: {n} overdue": "部门 {department}：逾期 {n} 项",
    "no follow-up is overdue": "没有逾期的后续处置",
    "objection": "异议",
    "received on": "收到日期",
    "grounds": "异议内容",
    "published on": "公示日期",
    "period ends": "异议期截止",
    "filed by": "登记人",
    "filed at": "登记时间",
    "decided on": "决定日期",
    "decided by": "决定人",
    "decision reason": "决定理由",
    "corrected version": "更正后版本",
    "OBJECTION": "异议",
    "RECEIVED": "收到日期",
    "CORRECTED": "更正版本",
    # -- checklists and inspection records (Art. 4, 11, 12) ----------------------------------------------
    "check points per inspection item (Art. 4, 11)": "抽查事项的检查内容和方式（第四条、第十一条）",
    "store the next revision of an item's checklist": "保存抽查事项检查清单的新修订版",
    "show an item's checklist": "查看抽查事项的检查清单",
    "every revision of an item's checklist": "抽查事项检查清单的全部修订版",
    "inspection records of assignments (Art. 12)": "抽查任务的检查记录（第十二条）",
    "record the inspection of an assignment": "录入一项抽查的检查记录",
    "revise a record: a new version with a reason": "修订检查记录：附理由的新版本",
    "show an inspection record": "查看检查记录",
    "current inspection records": "当前的检查记录",
    "every version of one record": "一份检查记录的全部版本",
    "not a valid JSON document of this kind: {problem}": "不是此类内容的有效 JSON 文档：{problem}",
    "checklist": "检查清单",
    "item version": "事项版本",
    "effective from": "生效日期",
    "sample requirements": "抽样要求",
    "laboratory requirements": "检验检测机构要求",
    "change reason": "修订理由",
    "made by": "制定人",
    "made at": "制定时间",
    "assignment": "抽查对象及检查组",
    "start": "开始时间",
    "end": "结束时间",
    "place": "检查地点",
    "members present": "到场检查人员",
    "enterprise": "企业确认",
    "refusal reason": "拒绝签字理由",
    "refusal witness": "见证人",
    "samples": "样品",
    "lab reports": "检验报告",
    "revision reason": "修订理由",
    "METHOD": "检查方式",
    "CHECK POINT": "检查内容",
    "LEGAL BASIS": "检查依据",
    "REV": "修订版",
    "ITEM VERSION": "事项版本",
    "POINTS": "检查项数",
    "RECORD": "检查记录",
    "ASSIGNMENT": "抽查对象及检查组",
    "END": "结束时间",
    "HASH": "哈希",
    "FINDING": "检查结论",
    "NOTE": "说明",
    "on site": "实地核查",
    "document review": "书面检查",
    "online": "网络监测",
    "sampling and testing": "抽样检验检测",
    "compliant": "符合",
    "non-compliant": "不符合",
    "not applicable": "不适用",
    "acknowledged (signed)": "已签字确认",
    "refused to sign": "拒绝签字",
    # -- experts and testing institutions --
    "imported {experts} experts and {institutions} testing institutions": (
        "已导入专家 {experts} 名、检验检测机构 {institutions} 个"
    ),
    "item {item} needs {count} {kind} holding {qualification} per object": (
        "抽查事项 {item} 每个检查对象需要持有 {qualification} 的{kind} {count} 个"
    ),
    "once the beacon round is produced: dualdraw experts execute {id} --beacon-value SIGNATURE": (
        "信标轮次产生后执行：dualdraw experts execute {id} --beacon-value SIGNATURE"
    ),
    "expert": "专家",
    "institution": "检验检测机构",
    "expert draw": "专家抽选",
    "inputs hash": "输入哈希",
    "MATCH": "一致：验证通过",
    "EMPLOYER": "工作单位",
    "SCOPES": "资质范围",
    "QUALIFICATION": "资质",
    "COUNT": "数量",
}
"""Chinese for the English source strings (with :data:`HELP_ZH`, the help of the commands' options)."""
ZH.update(HELP_ZH)

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
