"""Chinese for the help of the command line: command summaries, option help, group titles and argparse's
own headings (put in place by ``cli.app.localise``). Part of the catalogue of :mod:`dualdraw_client.i18n`."""

from __future__ import annotations

from typing import Final

HELP_ZH: Final[dict[str, str]] = {
    'dualdraw: draws for "double random, one public" inspections, and the tools around them': (
        "dualdraw：“双随机、一公开”抽查的抽取及相关工具"
    ),
    "show this help message and exit": "显示本帮助并退出",
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "debug logging": "输出调试日志",
    "run the gRPC server": "运行 gRPC 服务",
    "database maintenance": "数据库维护",
    "bearer tokens": "访问令牌",
    "write a new Ed25519 key for signing audit checkpoints": "生成新的 Ed25519 密钥，用于签署审计检查点",
    "load the bundled demo directory": "载入自带的演示名录",
    "render what is published (the public site)": "生成已公示内容（公示网站）",
    "import directory files (CSV or JSON Lines) in one transaction": (
        "在一个事务中导入名录文件（CSV 或 JSON Lines）"
    ),
    "the random-inspection item list": "随机抽查事项清单",
    "the annual plan: every task draws for a published entry": (
        "年度抽查计划：每项任务都为已公布的计划事项抽取"
    ),
    "objects a draw raised to a higher stratum, and why": "抽取中被提高层级的检查对象及原因",
    "objects several departments' draws selected in one year, merged (Art. 15)": (
        "同一年度被多个部门抽中的检查对象，合并检查（第十五条）"
    ),
    "inspection objects": "检查对象",
    "enforcement inspectors": "执法检查人员",
    "enforcement departments": "执法部门",
    "move an object, inspector or department to another department (an import never does)": (
        "将检查对象、执法检查人员或部门移交给另一部门（导入不会移交）"
    ),
    "the server's exclusion rules (local file commands: dualdraw rules)": (
        "服务器上的排除规则（本地规则文件命令：dualdraw rules）"
    ),
    "the published item list and its versions (Art. 5)": "已公布的抽查事项清单及其版本（第五条）",
    "export results, assignments, exclusions or items": "导出检查结果、抽取分配、排除记录或抽查事项",
    "credit-record feed (docs/CREDIT-EXPORT.md)": "信用记录推送（见 docs/CREDIT-EXPORT.md）",
    "host:port (default $DUALDRAW_ADDRESS or 127.0.0.1:50051)": (
        "主机:端口（默认取 $DUALDRAW_ADDRESS 或 127.0.0.1:50051）"
    ),
    "default $DUALDRAW_DATABASE_URL or sqlite:///dualdraw.db": (
        "默认取 $DUALDRAW_DATABASE_URL 或 sqlite:///dualdraw.db"
    ),
    "rule files folder (default $DUALDRAW_RULES_PATH or ./rules)": (
        "规则文件目录（默认取 $DUALDRAW_RULES_PATH 或 ./rules）"
    ),
    "apply database migrations first": "先执行数据库迁移",
    "load the demo directory into an empty database": "数据库为空时载入演示名录",
    "apply all migrations": "执行全部数据库迁移",
    "print the applied revision": "显示已执行到的迁移版本",
    "copy the SQLite database to FILE (online: the server may run)": (
        "将 SQLite 数据库复制到 FILE（在线备份：服务可继续运行）"
    ),
    "replace the SQLite database with FILE (stop the server first)": (
        "用 FILE 替换 SQLite 数据库（请先停止服务）"
    ),
    "mint a token with $DUALDRAW_TOKEN_SECRET_FILE or $DUALDRAW_TOKEN_PRIVATE_KEY": (
        "用 $DUALDRAW_TOKEN_SECRET_FILE 或 $DUALDRAW_TOKEN_PRIVATE_KEY 签发令牌"
    ),
    "who (an inspector's badge number for inspectors)": "持有人（执法检查人员填执法证号）",
    "root of the holder's jurisdiction": "持有人管辖范围的根部门",
    "validity (default 8)": "有效小时数（默认 8）",
    "pin a checkpoint public key": "固定检查点公钥",
    "check this object's own ticket": "核验该检查对象自己的抽签值",
    "with --object: the object's salt": "与 --object 同用：该对象的盐值",
    "with --object: the object's risk class": "与 --object 同用：该对象的信用风险分类",
    "where to write the PEM private key (must not exist)": "PEM 私钥的写入位置（文件不得已存在）",
    "load even when the database holds objects": "数据库已有检查对象时也载入",
    "render the static public site (item list, annual plans, draws, results) from the public API": (
        "从公开接口生成静态公示网站（事项清单、年度计划、抽取、结果）"
    ),
    "Reads only the public API (PublicService), so the site holds nothing unpublished.": (
        "只读取公开接口（PublicService），网站不含任何未公示的内容。"
    ),
    "server (default: $DUALDRAW_SERVER or {target})": "服务器（默认取 $DUALDRAW_SERVER 或 {target}）",
    "run the rule test cases (<rules>/tests/*.yaml) with coverage": (
        "运行规则测试用例（<rules>/tests/*.yaml）并统计覆盖率"
    ),
    "why one object is (or is not) excluded, rule by rule": "逐条规则说明某一对象为何被（或未被）排除",
    "objects a rule change newly excludes or includes": "规则变更后新增排除或重新纳入的检查对象",
    "write the directory as JSON Lines (import format)": "将名录写为 JSON Lines（导入格式）",
    "rule files or folders (default: ./rules)": "规则文件或目录（默认：./rules）",
    "github: CI annotations": "github：CI 注释格式",
    "rule folders or files (default: ./rules)": "规则目录或文件（默认：./rules）",
    "write a JUnit XML report": "写出 JUnit XML 报告",
    "fail below N %% rule or condition coverage": "规则或条件覆盖率低于 N %% 时失败",
    "database URL or JSON Lines export of the directory": "数据库 URL 或名录的 JSON Lines 导出文件",
    "rule folder (default: $DUALDRAW_RULES_PATH or ./rules)": (
        "规则目录（默认取 $DUALDRAW_RULES_PATH 或 ./rules）"
    ),
    "a task id (database only): its item and department give the context": (
        "任务编号（仅限数据库）：以其抽查事项和部门为背景"
    ),
    "an item code (database only): its business line": "抽查事项代码（仅限数据库）：取其业务条线",
    "business line of the inspection item": "抽查事项的业务条线",
    "department that would draw (default: the registering one)": "进行抽取的部门（默认：登记机关）",
    "git revision of the rules to compare with": "用于比较的规则 git 版本",
    "rule folder (default: ./rules)": "规则目录（默认：./rules）",
    "evaluate as this department's task over its subtree": "按该部门对其下级范围的任务评估",
    "fail when a department loses more than P (0-1) of its eligible objects": (
        "某部门可抽取对象减少超过比例 P（0-1）时失败"
    ),
    "server and output": "服务器与输出",
    "server address (default: $DUALDRAW_SERVER or {target})": (
        "服务器地址（默认取 $DUALDRAW_SERVER 或 {target}）"
    ),
    "who is acting, sent to the server (default: $DUALDRAW_ACTOR or login name)": (
        "操作人，发送给服务器（默认取 $DUALDRAW_ACTOR 或登录名）"
    ),
    "bearer token (default: $DUALDRAW_TOKEN)": "访问令牌（默认取 $DUALDRAW_TOKEN）",
    "use TLS, trusting this CA certificate (default: $DUALDRAW_TLS_CA; plaintext when unset)": (
        "使用 TLS 并信任该 CA 证书（默认取 $DUALDRAW_TLS_CA；未设置时不加密）"
    ),
    "deadline of each call (default: {seconds})": "每次调用的时限，秒（默认：{seconds}）",
    "CSV (one kind per file) or .jsonl files": "CSV 文件（每个文件一类记录）或 .jsonl 文件",
    "kind of the CSV files (default: from the file name)": "CSV 文件的记录类别（默认：由文件名判断）",
    "idempotency key (default: a fresh uuid4)": "幂等键（默认：新生成的 uuid4）",
    "create an inspection item": "新建抽查事项",
    "list inspection items": "列出抽查事项",
    "show one inspection item": "查看一个抽查事项",
    'stable code, e.g. "SE-001"': '固定代码，如 "SE-001"',
    "law or regulation that authorises the inspection": "抽查所依据的法律法规",
    'e.g. "special_equipment"': '如 "special_equipment"',
    "speciality every team member must hold": "检查组每名成员须具备的专业",
    'decimal in (0, 1], e.g. "0.05"': '(0, 1] 之间的小数，如 "0.05"',
    "owning department id": "所属部门编号",
    "who may be inspected, in words": "抽查对象范围（文字说明）",
    "planned inspections per object per department per calendar year (default: 1)": (
        "每个部门每个日历年对每个对象的计划检查次数（默认：1）"
    ),
    "show at most N rows": "最多显示 N 行",
    "task policy (any of these makes a dualdraw-draw/2 task)": (
        "任务策略（任一项都会使任务采用 dualdraw-draw/2）"
    ),
    "the published plan the task draws for": "任务所属的已公布年度计划",
    "with --plan: the plan entry": "与 --plan 同用：计划事项",
    "with --plan: the entry's period (default: today's)": (
        "与 --plan 同用：计划事项的期次（默认：今天所在期次）"
    ),
    "with --plan: a rehearsal (any date, never published)": "与 --plan 同用：演练（日期不限，从不公示）",
    "inspection item code (with --plan: the entry's)": "抽查事项代码（与 --plan 同用时取计划事项的）",
    "department that runs the task (with --plan: the plan's)": "执行任务的部门（与 --plan 同用时取计划的）",
    'share to draw, decimal in (0, 1], e.g. "0.05" (with --plan: the entry\'s)': (
        '抽取比例，(0, 1] 之间的小数，如 "0.05"（与 --plan 同用时取计划事项的）'
    ),
    "inspectors per team (at least 2)": "每组执法检查人员数（至少 2 人）",
    "region code inside the department's territory (default: all of it)": (
        "部门辖区内的行政区划代码（默认：整个辖区）"
    ),
    "only these industries": "只含这些行业",
    "draw the new task at once and show its teams": "立即对新任务进行抽取并显示检查组",
    "with --draw: date the rules are evaluated at": "与 --draw 同用：规则评估基准日",
    "create the task with the default policy": "按默认策略创建任务",
    "ratio of one credit-risk class, e.g. D=0.3 (repeatable)": (
        "某一信用风险分类的抽查比例，如 D=0.3（可重复）"
    ),
    "raise at N complaints": "投诉举报达 N 件时提高层级",
    "default 365": "默认 365",
    "raise objects with a case opened or a judicial referral in the window": (
        "期间内已立案或移送司法的对象提高层级"
    ),
    "class raised objects are drawn in": "被提高层级的对象按此分类抽取",
    "planned inspections per object per year (default: the item's cap, else 1)": (
        "每个对象每年的计划检查次数（默认：事项的上限，否则为 1）"
    ),
    "switch the frequency cap off": "关闭检查频次上限",
    "a campaign ordered from above (counted apart)": "上级部署的专项检查（单独计数）",
    "hand each object to its registering branch": "将每个对象交由其登记机关检查",
    "no inspector on an object of their office": "执法检查人员不检查本所（科）管辖的对象",
    "no inspector on an object they inspected in its last K inspections": (
        "执法检查人员不检查其在最近 K 次检查中检查过的对象"
    ),
    "assignments per inspector": "每名执法检查人员的检查任务数",
    "cooperating department of a joint draw and the line its members hold (repeatable)": (
        "联合抽查的配合部门及其人员须持有的执法类别（可重复）"
    ),
    "default 1": "默认 1",
    "only this department's tasks": "只含该部门的任务",
    # -- directory filing (Art. 7) --
    "directory filing with the level above (Art. 7)": "向上级备案名录（第七条）",
    "file a department's directories (objects, inspectors, experts, institutions) with its parent": (
        "将本部门的名录（检查对象、执法检查人员、专家、检验检测机构）报上级部门备案"
    ),
    "a note for the parent department": "给上级部门的说明",
    "acknowledge a child's submitted filing": "确认下级部门报送的备案",
    "return a child's submitted filing with a reason": "附理由退回下级部门报送的备案",
    "why it is returned": "退回理由",
    "what to correct (required with --reason other)": "需要更正的内容（--reason other 时必填）",
    "list filings of a department or filed with a parent": "列出某部门的备案或报送某上级部门的备案",
    "filings filed with this department": "报送本部门的备案",
    "filings of this department": "本部门报送的备案",
    "each child department's filing status": "各下级部门的备案状态",
    "the parent department (default: the caller's)": "上级部门（默认：调用者所在部门）",
    "records added, removed and changed since the last acknowledged filing": (
        "自上次确认备案以来新增、移除和变更的记录"
    ),
    "in this filing": "本次备案中的变化",
    "in this department's directory as it is now": "本部门当前名录中的变化",
    "create a draft plan (version 1, no entries)": "新建年度计划草案（第 1 版，无计划事项）",
    "add an entry to a draft plan": "向计划草案添加计划事项",
    "replace an entry of a draft plan": "替换计划草案中的计划事项",
    "approve a draft plan": "审批计划草案",
    "publish an approved plan: in force from now": "公布已审批的计划：即时生效",
    "publish an amendment of a published plan": "公布已公布计划的修订",
    "show a plan and its entries": "查看计划及其计划事项",
    "list plans (their latest versions)": "列出计划（各计划的最新版本）",
    "draws, inspector-days, cost and shortfalls": "抽取次数、人日、费用及缺口",
    "drawn, inspected, published per period": "各期次已抽取、已检查、已公示的数量",
    "create the entry's task for a period and draw it": "为某期次创建计划事项的任务并抽取",
    "the department whose plan it is": "计划所属部门",
    "default 2": "默认 2",
    "the entry": "计划事项",
    "inspection item code on the published list": "已公布清单中的抽查事项代码",
    "published item version": "已公布的事项版本",
    'decimal in (0, 1], e.g. "0.1"': '(0, 1] 之间的小数，如 "0.1"',
    "draws (periods) in the window; 1": "实施期间内的抽取次数（期次）；默认 1",
    "inspectors per team (default: item's)": "每组执法检查人员数（默认：检查事项的设置）",
    'working days per inspector, e.g. "1.5"; 1': '每名执法检查人员的工作日，如 "1.5"；默认 1',
    "cost of one inspection (default: 0)": "每次检查的费用（默认 0）",
    "repeatable": "可重复",
    "a central draw handing objects to their branch": "集中抽取，将对象交由其分局检查",
    "cooperating department of a joint entry and the line its members hold (repeatable)": (
        "联合抽查计划事项的配合部门及其人员须持有的执法类别（可重复）"
    ),
    "why the published plan changes": "修订已公布计划的理由",
    "remove this entry (repeatable)": "删除该计划事项（可重复）",
    "with the entry flags: replace this entry": "与计划事项参数同用：替换该计划事项",
    "this version (default: the latest)": "该版本（默认：最新版本）",
    "this department's subtree (default: the caller's)": "该部门及其下级（默认：调用者所在部门）",
    "directory and rules as of (default: today)": "名录和规则的基准日（默认：今天）",
    "the entry's period (default: the one of today)": "计划事项的期次（默认：今天所在期次）",
    "inspectors per team (default: the entry's)": "每组执法检查人员数（默认：取计划事项的）",
    "a rehearsal: any date, holds no period, never published": "演练：日期不限，不占用期次，从不公示",
    "draw date; only a rehearsal may give one": "抽取日期；仅演练可指定",
    "date the rules are evaluated at (default: today)": "规则评估基准日（默认：今天）",
    "freeze a draw's manifest before its entropy exists": "在随机源产生之前冻结抽取清单",
    "reveal a party's secret": "公开一方的秘密值",
    "execute a committed draw": "执行已承诺的抽取",
    "abandon a live draw with a reason code": "以原因代码作废一次有效抽取",
    "abandoned draws and substitution counts": "作废抽取与补抽的统计",
    "beacon name (beacon source, or the commit-reveal fallback)": (
        "随机信标名称（信标来源，或承诺-公开方式的后备）"
    ),
    "beacon round fixed in the manifest": "清单中固定的信标轮次",
    "commit-reveal party": "承诺-公开的参与方",
    "commit-reveal reveal deadline (RFC 3339 with zone)": "承诺-公开的公开截止时间（RFC 3339，含时区）",
    "hex": "十六进制",
    "hex value of the beacon round": "信标轮次的十六进制值",
    "the inspector to replace": "被替换的执法检查人员",
    "hex SHA-256 of the evidence": "证明材料的十六进制 SHA-256",
    "the evidence file (its SHA-256 is recorded)": "证明材料文件（记录其 SHA-256）",
    "hide unselected objects behind salted commitments": "以加盐承诺隐藏未抽中的对象",
    "show a signed checkpoint": "查看已签名的检查点",
    "a checkpoint size held outside": "外部保存的检查点大小",
    "its root hash": "其根哈希",
    "default: the newest": "默认：最新",
    "print only the C2SP signed note (c2sp.org/tlog-checkpoint)": (
        "只输出 C2SP 签名文本（c2sp.org/tlog-checkpoint）"
    ),
    "calendar year": "日历年",
    "only inspections involving this department or one below it": "只含涉及该部门或其下级部门的检查",
    "list inspection objects": "列出检查对象",
    "show one inspection object": "查看一个检查对象",
    "only objects registered by this department or its subtree": "只含该部门或其下级登记的对象",
    "list inspectors": "列出执法检查人员",
    "only this department's inspectors": "只含该部门的执法检查人员",
    "list departments": "列出部门",
    "only this department's subtree": "只含该部门及其下级",
    "what moves": "移交的记录类别",
    "credit code, badge number or department id": "统一社会信用代码、执法证号或部门编号",
    "the new (registering/parent) department": "新的（登记/上级）部门",
    "why the record moves (kept in the audit log)": "移交理由（记入审计日志）",
    'only events on this resource, e.g. "tasks/t-3f2a9c1b7d4e"': (
        '只含该资源的事件，如 "tasks/t-3f2a9c1b7d4e"'
    ),
    "the rule set in force (or a stored one by hash)": "现行规则集（或按哈希查看已存储的规则集）",
    "reload the server's rule files (refused if they fail)": "重新载入服务器的规则文件（校验失败则拒绝）",
    "what changed rule files would exclude or include": "修改后的规则文件将排除或纳入哪些对象",
    "why one object is or is not excluded": "某一对象为何被或未被排除",
    "re-run an old draw's exclusions with its rule set": "用原规则集重新计算以往抽取的排除",
    "hash of a stored rule set": "已存储规则集的哈希",
    "changed rule files (*.yaml)": "修改后的规则文件（*.yaml）",
    "fail above this share (0-1) per department": "任一部门超过该比例（0-1）时失败",
    "last day": "最后一日",
    "what was found (required when a problem was found)": "检查发现（发现问题时必填）",
    "hash this file (SHA-256) and cite it": "计算该文件的 SHA-256 并引用",
    "cite an attachment by hash": "按哈希引用附件",
    "penalty decision number (case_opened)": "行政处罚决定书文号（case_opened 时）",
    "transferred to the judicial organs (Art. 13)": "已移送司法机关（第十三条）",
    "why the recorded result is corrected": "更正已录入结果的理由",
    "kept in the audit log": "记入审计日志",
    "judge at this day (default: today)": "按该日判断（默认：今天）",
    "every draw due for publication, not only overdue ones": "所有待公示的抽取，不仅是逾期的",
    "publish new and changed items as versions": "将新增和变更的事项作为新版本公布",
    "the published list as of a day": "某日的已公布清单",
    "every published version of an item": "某一事项的全部已公布版本",
    "what changed": "变更内容",
    "legal basis of the change": "变更的法律依据",
    "the draw (required for assignments and exclusions)": "抽取编号（导出抽取分配和排除记录时必填）",
    "(item's)": "（按检查事项）",
    "write here (default: standard output)": "写入此处（默认：标准输出）",
    "checkpoint of the last delivery": "上次推送的检查点",
    "a team may include one member without the speciality (never the leader)": (
        "每组可含一名不具备该执法类别资格的成员（不得为组长）"
    ),
    "inspectors per team (default: 2)": "每组执法检查人员数（默认 2）",
    "testing fees per inspection of a sampling item; 0": "抽样检验事项每次检查的检验检测费；默认 0",
    "what one inspection takes (the annual plan's estimate)": "每次检查的工作量（用于年度计划测算）",
    "file to write (default: standard output)": "写入的文件（默认：标准输出）",
    "write the OpenAPI document of the HTTP/JSON API": "输出 HTTP/JSON 接口的 OpenAPI 文档",
    "cost of one inspection (default: item's)": "每次检查的费用（默认：检查事项的设置）",
    'working days per inspector, e.g. "1.5" (default: item\'s)': (
        "每名执法检查人员的工作日数，如 “1.5”（默认：检查事项的设置）"
    ),
    (
        "also serve HTTP/JSON (Connect protocol, /openapi.json) on host:port "
        "(default $DUALDRAW_HTTP_ADDRESS; off when unset)"
    ): (
        "同时在 host:port 提供 HTTP/JSON 服务（Connect 协议，/openapi.json；"
        "默认 $DUALDRAW_HTTP_ADDRESS；未设置时关闭）"
    ),
    "entropy from this pinned beacon (default: the server's; a local secret only in development)": (
        "使用此固定公共信标的随机数（默认：服务器配置的信标；本地密钥仅限开发模式）"
    ),
    "hex signature of the beacon round": "信标轮次的签名（十六进制）",
    "its round (default: the first a minute from now)": "信标轮次（默认：一分钟后的第一轮）",
    "pick a requested substitution's replacement with its beacon round's value": (
        "用信标轮次的值为已申请的人员替换抽取替补人员"
    ),
    (
        "the beacon round the draw commits to (default: the first a minute after the commit); "
        "execute it later with: dualdraw draw execute DRAW_ID --beacon-value SIGNATURE"
    ): (
        "抽取承诺使用的信标轮次（默认：承诺一分钟后的第一轮）；"
        "之后执行：dualdraw draw execute DRAW_ID --beacon-value SIGNATURE"
    ),
    (
        "with --draw: the beacon round the draw commits to (default: the first a minute after the commit); "
        "execute it later with: dualdraw draw execute DRAW_ID --beacon-value SIGNATURE"
    ): (
        "与 --draw 同用：抽取承诺使用的信标轮次（默认：承诺一分钟后的第一轮）；"
        "之后执行：dualdraw draw execute DRAW_ID --beacon-value SIGNATURE"
    ),
    "class raised objects go to; one higher": "上调后的信用风险类别；默认上调一级",
    "complaint window; 365": "投诉统计天数；默认 365",
    "complaints that raise; 0: off; 3": "触发上调的投诉次数；0 为关闭；默认 3",
    "do not raise on serious violations": "不因严重违法上调",
    "objects another level drew this year for the item: leave them to it (default) or join": (
        "本年度其他层级已就该事项抽中的对象：交由其检查（默认）或合并检查"
    ),
    "objects another level drew this year for the item: leave them to it or join its inspection": (
        "本年度其他层级已就该事项抽中的对象：交由其检查或并入其检查"
    ),
    "per object per year; 0: none; 1": "每个对象每年的抽查次数上限；0 为不限；默认 1",
    "the entry's caps and raises (unset: the defaults)": "该条目的次数上限与上调规则（未设置时用默认值）",
    "the line-oriented form dualdraw-bundle-lines/1 (verified in bounded memory at any size)": (
        "逐行格式 dualdraw-bundle-lines/1（任意规模均可在有限内存内验证）"
    ),
    # -- evidence files
    "evidence files (photos, PDFs, lab reports), kept by SHA-256": (
        "证据文件（照片、PDF、检验检测报告），按 SHA-256 存储"
    ),
    "upload a file (streamed) and print its SHA-256": "上传文件（流式）并输出其 SHA-256",
    "write an evidence file, checked against its SHA-256": "下载证据文件，并按其 SHA-256 核验",
    "list stored evidence files": "列出已存储的证据文件",
    "show one evidence file's record": "查看一个证据文件的记录",
    "media type, e.g. application/pdf (default: from the file name)": (
        "媒体类型，如 application/pdf（默认按文件名判断）"
    ),
    "the original file name to record (default: FILE's last part)": (
        "记录的原文件名（默认取 FILE 的文件名部分）"
    ),
    "also check every stored evidence file against its SHA-256 (names missing or altered ones)": (
        "同时按 SHA-256 核验每个已存储的证据文件（列出缺失或被改动的文件）"
    ),
    # -- credit push
    "the push of results and follow-up outcomes to the credit system": (
        "检查结果及后续处置结果向信用系统的推送"
    ),
    "records pending, delivered and failed, and the records not delivered yet": (
        "待推送、已送达和推送失败的记录数，以及尚未送达的记录"
    ),
    "which records to list (default: undelivered, i.e. failed then pending)": (
        "列出哪些记录（默认 undelivered：先推送失败的，再待推送的）"
    ),
    # -- after the draw: follow-ups and objections --
    "follow a result to closure (Art. 13)": "后续处置：跟进检查结果直至办结（第十三条）",
    "open a follow-up of a recorded result": "对已录入的检查结果启动后续处置",
    "lead_transfer: the receiving department": "线索移交时：接收部门",
    "internal note (never published)": "内部备注（不公示）",
    "working days to the due date": "距办理期限的工作日数",
    "upload this file and cite it as evidence": "上传该文件并作为证据引用",
    "cite a stored evidence file by hash and size": "按哈希和大小引用已存储的证据文件",
    "show one follow-up": "查看一项后续处置",
    "follow-ups of a department's subtree": "某部门及其下级部门的后续处置",
    "default: your own": "默认：本人所在部门",
    "only this draw's": "仅限该次抽取",
    "only those not closed": "仅限未办结的",
    "overdue follow-ups per department": "按部门列出逾期的后续处置",
    "add evidence or a note to a follow-up": "为后续处置补充证据或备注",
    "replaces the note": "替换原备注",
    "the enterprise reports the rectification done": "企业报告已完成整改",
    "record the re-inspection by members of the same team": "录入原检查组成员的复查",
    "day of the re-inspection": "复查日期",
    "a re-inspecting inspector": "参加复查的执法检查人员",
    "whether it was rectified": "是否已整改到位",
    "what the re-inspection found": "复查发现的情况",
    "close a follow-up with its outcome": "录入办理结果并办结后续处置",
    "what was decided (the reason, for withdrawn)": "处理决定（撤销时填写原因）",
    "decision number (required for a case)": "决定书文号（立案查处必填）",
    "default: today": "默认：今天",
    "enterprises' objections to published results": "企业对已公示检查结果的异议",
    "file an objection received from the enterprise": "登记收到的企业异议",
    "day it was received": "收到异议的日期",
    "what the enterprise objects to (published)": "企业异议的内容（公示）",
    "decide a pending objection": "对待处理的异议作出决定",
    "why (published)": "理由（公示）",
    "upheld: the corrected result version": "异议成立时：更正后的检查结果版本",
    "show one objection": "查看一项异议",
    "objections to results of a department's subtree": "某部门及其下级部门检查结果的异议",
    "the checklist as a JSON file": "检查清单 JSON 文件",
    "this revision (default: the latest)": "指定修订版（默认：最新）",
    "the record as a JSON file": "检查记录 JSON 文件",
    "draws/DRAW_ID/assignments/POSITION (default: the file's)": (
        "draws/抽取编号/assignments/序号（默认：取文件中的）"
    ),
    "the revised record as a JSON file": "修订后的检查记录 JSON 文件",
    "why the record is revised": "修订检查记录的理由",
    # -- dualdraw events tail -----------------------------------------------------------------------------
    "domain events for other services (NATS JetStream)": "供其他业务系统订阅的领域事件（NATS JetStream）",
    "print the domain events of the stream as they arrive": "逐条打印事件流中到达的领域事件",
    "NATS server (default $DUALDRAW_EVENTS_URL or nats://127.0.0.1:4222)": (
        "NATS 服务器（默认 $DUALDRAW_EVENTS_URL 或 nats://127.0.0.1:4222）"
    ),
    "JetStream stream (default $DUALDRAW_EVENTS_STREAM or DUALDRAW_EVENTS)": (
        "JetStream 事件流（默认 $DUALDRAW_EVENTS_STREAM 或 DUALDRAW_EVENTS）"
    ),
    "subjects <prefix>.> (default $DUALDRAW_EVENTS_SUBJECT_PREFIX or dualdraw.events)": (
        "订阅主题 <prefix>.>（默认 $DUALDRAW_EVENTS_SUBJECT_PREFIX 或 dualdraw.events）"
    ),
    "from the stream's first event, not only new ones": "从事件流的第一条事件起读取，而不只是新事件",
    "stop after this many events (default: never)": "读取这么多条事件后停止（默认：不停止）",
    "stop after this many seconds without an event (default: never)": (
        "连续这么多秒没有新事件后停止（默认：不停止）"
    ),
    # -- experts and testing institutions (docs/DRAW-ALGORITHM.md §8.2) --
    "experts and testing institutions, drawn for a draw's objects": (
        "专家与检验检测机构：为抽取的检查对象抽选"
    ),
    "import experts and testing institutions (JSON Lines)": "导入专家与检验检测机构（JSON Lines）",
    "JSON Lines: one expert or institution a line": "JSON Lines 文件：每行一名专家或一个机构",
    "the importing department": "导入名录的部门",
    "list a department's experts": "列出某部门的专家",
    "list a department's testing institutions": "列出某部门的检验检测机构",
    "the department (default: your own)": "部门（默认：本部门）",
    "set what an inspection item needs per object": "设定抽查事项对每个检查对象所需的专家或机构",
    "the inspection item": "抽查事项",
    "experts or a testing institution": "专家或检验检测机构",
    "the speciality (experts) or accreditation scope (institutions)": (
        "所需专业（专家）或资质认定范围（机构）"
    ),
    "how many per object; 0 clears it": "每个检查对象所需数量；0 表示取消要求",
    "show an inspection item's requirements": "查看抽查事项对专家或机构的要求",
    "draw experts or an institution for every object of an executed draw": (
        "为已执行抽取的每个检查对象抽选专家或检验检测机构"
    ),
    "the executed draw": "已执行的抽取",
    "a pinned beacon (default: the server's)": "指定的随机信标（默认：服务器所用的）",
    "the beacon round the expert draw commits to (default: the first a minute after the commit); "
    "execute it later with: dualdraw experts execute EXPERT_DRAW_ID --beacon-value SIGNATURE": (
        "专家抽选所承诺的信标轮次（默认：承诺一分钟后的第一轮）；之后执行："
        "dualdraw experts execute EXPERT_DRAW_ID --beacon-value SIGNATURE"
    ),
    "execute a committed expert draw": "执行已承诺的专家抽选",
    "the committed expert draw": "已承诺的专家抽选",
    "the beacon round's signature": "该信标轮次的签名",
    "show one expert draw": "查看一次专家抽选",
    "the expert draw": "专家抽选",
    "list the expert draws of a draw": "列出某次抽取的专家抽选",
    "the draw": "抽取",
    "have the server re-derive an expert draw (MATCH or MISMATCH)": "由服务器复算专家抽选（一致或不一致）",
}
