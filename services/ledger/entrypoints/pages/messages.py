"""The pages' words, Chinese first, English second: one catalogue instead of strings
scattered through templates. Templates call `t("key")`; a missing key shows the key, so a
gap is visible in review rather than silently blank."""

from __future__ import annotations

from typing import Literal

from contract.vocabulary import ACTIVITY_KINDS, UNIT_KINDS
from ledger.entrypoints.pages.certificate_messages import MESSAGES as CERTIFICATE_MESSAGES

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

MESSAGES: dict[str, tuple[str, str]] = {
    "app_name": ("社区志愿服务台账", "Community volunteer ledger"),
    "switch_lang": ("English", "中文"),
    # check-in page
    "checkin_title": ("活动签到", "Check in"),
    "place": ("地点", "Place"),
    "time": ("时间", "Time"),
    "host": ("主办", "Host"),
    "status": ("状态", "Status"),
    "state_none": ("未签到", "Not checked in"),
    "state_in": ("已签到", "Checked in"),
    "state_out": ("已签退", "Checked out"),
    "since": ("签到时间", "Checked in at"),
    "until": ("签退时间", "Checked out at"),
    "so_far": ("已在场", "Time so far"),
    "duration": ("在场时长", "Time present"),
    "check_in": ("签到", "Check in"),
    "check_out": ("签退", "Check out"),
    "checked_in_ok": ("签到成功", "Checked in"),
    "checked_out_ok": ("签退成功", "Checked out"),
    "sending": ("正在提交…", "Sending…"),
    "retrying": ("网络不稳，正在重试，请勿关闭页面…",
                 "Poor network: retrying, keep this page open…"),
    "saved_offline": ("已记下，恢复网络后自动提交", "Saved; it will be sent when you are online"),
    "code_label": ("现场签到码（6位数字）", "On-site code (6 digits)"),
    "code_help": ("请扫描现场屏幕上的二维码，或输入屏幕上显示的6位签到码。",
                  "Scan the QR code on the on-site screen, or type the 6-digit code it shows."),
    "code_expired": ("签到码已过期或不正确。"
                     "请扫描现场屏幕上的最新二维码，或输入屏幕上的6位签到码。",
                     "The code has expired or is wrong. Scan the latest QR code on the on-site "
                     "screen, or type the 6-digit code it shows."),
    "code_submit": ("凭签到码签到", "Check in with this code"),
    "poster_invalid": ("海报二维码无效：请扫描本次活动现场张贴的海报，"
                       "或输入现场屏幕上的6位签到码。",
                       "This poster's QR code is not valid: scan the poster at this activity's "
                       "site, or type the 6-digit code from the on-site screen."),
    "opens_at": ("签到将于 {when}（北京时间）开放", "Check-in opens at {when} (Beijing time)"),
    "opens_help": ("现在可以先验证身份；开放后再扫一次码，点一次“签到”即可。",
                   "You can identify yourself now; once it opens, scan again and one tap "
                   "checks you in."),
    "checkin_over": ("活动已结束，不能再签到", "The activity is over: check-in has closed"),
    "finished": ("本次服务已完成，感谢参与！时长将由组织者确认。",
                 "Done, thank you! An organiser will confirm the hours."),
    "check_in_again": ("中途离开后又回来了？再次签到", "Came back after leaving? Check in again"),
    "offline_page": ("当前没有网络：显示的是上次打开时的页面，状态可能不是最新。"
                     "签到、签退会先记在手机上，恢复网络后自动提交。",
                     "You are offline: this is the page as last opened and may be out of "
                     "date. Check-ins and check-outs are kept on this phone and sent once "
                     "you are online."),
    "code_ok": ("签到码有效", "Code accepted"),
    "pass_expired": ("签到码已过期，请重新扫描现场屏幕上的二维码",
                     "Your code has expired: scan the on-site screen again"),
    "activity_missing": ("没有找到这个活动", "No such activity"),
    "activity_cancelled": ("活动已取消", "The activity was cancelled"),
    "activity_closed": ("活动已结束", "The activity is closed"),
    # identity
    "identify_title": ("验证身份", "Identify yourself"),
    "identify_help": ("首次使用请输入党员编号和密码（PIN），本机将记住您。",
                      "The first time, enter your member number and PIN; this phone will "
                      "remember you."),
    "member_number": ("党员编号", "Member number"),
    "pin": ("密码（PIN）", "PIN"),
    "identify_submit": ("验证", "Continue"),
    "identify_failed": ("编号或密码不正确", "The member number or PIN is not right"),
    "too_many": ("尝试次数过多，请{wait}后再试", "Too many attempts: try again in {wait}"),
    "seconds": ("{n}秒", "{n} s"),
    "minutes": ("{n}分钟", "{n} min"),
    "busy": ("系统繁忙，请稍后再试", "The server is busy: try again in a moment"),
    "you_are": ("当前身份", "Signed in as"),
    "not_you": ("不是您？退出", "Not you? Sign out"),
    "identify_needed": ("请先验证身份", "Please identify yourself first"),
    # member page
    "my_records": ("我的服务记录", "My records"),
    "total_hours": ("累计确认服务时长", "Confirmed service hours"),
    "star_level": ("星级", "Star level"),
    "no_star": ("尚未达到一星（100小时）", "No star yet (100 h for ★1)"),
    "next_star": ("再服务 {left} 小时可达 {stars}", "{left} h more to {stars}"),
    "next_star_threshold": ("（累计满 {threshold} 小时）", " ({threshold} h in all)"),
    "by_year": ("按年合计", "By year"),
    "year": ("年份", "Year"),
    "month_table": ("逐月明细（无活动的月份记为 0）", "Every month (0 where nothing happened)"),
    "chart_label": ("近12个月每月确认服务时长（小时）", "Confirmed service hours, last 12 months"),
    "chart_caption": ("近12个月每月确认服务时长（小时）", "Confirmed service hours per month, last "
                      "12 months"),
    "hours_unit": ("小时", "h"),
    "minutes_unit": ("分钟", "min"),
    "by_month": ("按月统计", "By month"),
    "month": ("月份", "Month"),
    "hours": ("时长（小时）", "Hours"),
    "activities": ("活动", "Activities"),
    "all_records": ("全部记录", "All records"),
    "confirmed": ("已确认", "Confirmed"),
    "confirm": ("确认", "Confirm"),
    "pending": ("待确认", "Awaiting confirmation"),
    "revoked": ("已撤销", "Revoked"),
    "auto_closed": ("未签退，活动结束时自动签退", "Not checked out; closed automatically"),
    "attendance_only": ("出勤（不计服务时长）", "Attendance (no service hours)"),
    "ask_correction": ("申请更正", "Ask for a correction"),
    "reason": ("原因", "Reason"),
    "requested_hours": ("您认为应为多少小时（可不填）", "Hours you think are right (optional)"),
    "send": ("提交", "Send"),
    "correction_sent": ("更正申请已提交，组织者会核实处理", "Sent: an organiser will check it"),
    "personal_code": ("我的个人码（组织者扫码代签到）",
                      "My personal code (an organiser scans it to check me in)"),
    "no_records": ("还没有记录", "No records yet"),
    "forget_phone": ("退出（本机不再记住我）", "Sign out (forget me on this phone)"),
    "open_my_records": ("查看我的记录", "My records"),
    # the landing page at /
    "landing_intro": ("记录谁在何时参加了志愿服务、服务了多长时间，"
                      "并按组织逐级汇总、每月评选光荣榜。",
                      "Records who served, when and for how long, rolls it up the organisation "
                      "tree and draws up the monthly honor roll."),
    "landing_members": ("党员、志愿者", "Members and volunteers"),
    "landing_members_checkin": ("签到：在活动现场用手机扫描海报或现场屏幕上的二维码，"
                                "首次使用输入党员编号和密码（PIN）。",
                                "Check in: at the activity, scan the QR code on the poster or "
                                "the on-site screen with your phone; the first time, enter your "
                                "member number and PIN."),
    "landing_members_link": ("组织者私下发给您的个人签到链接，直接打开即可，无需密码。",
                             "A personal sign-in link your organiser sent you privately opens "
                             "without a PIN."),
    "landing_members_records": ("签到或打开个人链接后，本机会记住您，这里会出现“我的服务记录”。",
                                "Once you have checked in or opened your personal link, this "
                                "phone remembers you and your records are linked here."),
    "landing_organisers": ("活动组织者", "Organisers"),
    "landing_organisers_text": ("登录后安排活动、打印签到海报、查看现场签到、确认时长、复核记录、"
                                "为党员生成个人签到链接。",
                                "Sign in to schedule activities, print posters, watch check-ins, "
                                "confirm hours, review records and make personal links."),
    "landing_committees": ("社区、街道委员会", "Community and street committees"),
    "landing_committees_text": ("登录后查看、发布每月光荣榜和本月概况；报表服务提供公示页、"
                                "打印版和数据接口。",
                                "Sign in to check and publish the monthly honor roll and "
                                "summary; the reports service has the public pages, print "
                                "versions and the data API."),
    "landing_reports": ("报表服务", "Reports service"),
    "landing_systems": ("系统对接", "For other systems"),
    "landing_api_docs": ("接口文档（OpenAPI）", "API documentation (OpenAPI)"),
    "landing_health": ("运行状态", "Health"),
    # organiser
    "organiser_login": ("组织者登录", "Organiser sign-in"),
    "tenant": ("区（租户）编号", "District (tenant) id"),
    "login": ("登录名", "Login"),
    "password": ("密码", "Password"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出登录", "Sign out"),
    "login_failed": ("登录名或密码不正确", "The login or password is not right"),
    "my_activities": ("活动列表", "Activities"),
    "review": ("待复核记录", "Records to review"),
    "schedule_title": ("安排新活动", "Schedule an activity"),
    "host_unit": ("主办组织", "Host unit"),
    "kind": ("类型", "Kind"),
    "category": ("类别", "Category"),
    "cat_service": ("服务（计时长）", "Service (earns hours)"),
    "cat_attendance": ("会议座谈党课（计出勤）", "Meeting/forum/class (attendance only)"),
    "title": ("活动名称", "Title"),
    "beneficiary": ("服务对象/内容", "Beneficiary / content"),
    "date": ("日期", "Date"),
    "starts": ("开始", "Starts"),
    "ends": ("结束", "Ends"),
    "capacity": ("人数上限（可不填）", "Capacity (optional)"),
    "hours_cap": ("每人时长上限（小时，可不填）", "Hours cap per person (optional)"),
    "schedule_submit": ("安排活动", "Schedule"),
    "scheduled_ok": ("活动已安排", "Activity scheduled"),
    "required": ("请填写此项", "Required"),
    "control_characters": ("输入中含有不允许的控制字符，请重新输入",
                           "The input holds control characters; please type it again"),
    "bad_number": ("请填写数字", "Enter a number"),
    "bad_time": ("时间格式应为 时:分，如 09:00", "Use HH:MM, e.g. 09:00"),
    "bad_date": ("日期格式应为 年-月-日", "Use YYYY-MM-DD"),
    "no_activities": ("还没有活动", "No activities yet"),
    "no_matching_activities": ("没有符合条件的活动", "No activity matches"),
    "search_title": ("按名称查找活动", "Search by title"),
    "search": ("查找", "Search"),
    "status_any": ("全部", "Any"),
    "next_page": ("下一页（更早的活动）", "Next page (older)"),
    "newest_page": ("回到最新", "Back to the newest"),
    "people_checked_in": ("签到人数", "Checked in"),
    "roster": ("签到名单", "Roster"),
    "live_code": ("现场签到码", "Live code"),
    "poster": ("打印海报", "Poster"),
    "status_upcoming": ("未开始", "Not started"),
    "status_ongoing": ("进行中", "Under way"),
    "status_cancelled": ("已取消", "Cancelled"),
    "status_closed": ("已结束", "Closed"),
    "name": ("姓名", "Name"),
    "in": ("签到", "In"),
    "out": ("签退", "Out"),
    "flags": ("提示", "Flags"),
    "credited": ("认定时长", "Credited"),
    "creditable": ("可认定", "Allowed"),
    "confirm_selected": ("确认所选人员的时长", "Confirm selected"),
    "confirmed_ok": ("已确认", "Confirmed"),
    "correct": ("更正", "Correct"),
    "revoke": ("撤销", "Revoke"),
    "corrected_ok": ("已更正", "Corrected"),
    "revoked_ok": ("已撤销", "Revoked"),
    "close_activity": ("结束活动（未签退者自动签退并标记复核）",
                       "Close (forgotten check-outs are closed and flagged)"),
    "closed_ok": ("活动已结束", "Activity closed"),
    "please_confirm": ("请确认", "Please confirm"),
    "cancel_step": ("返回，不操作", "Go back, do nothing"),
    "confirm_close": ("确定结束这个活动吗？尚未签退的人将自动签退并标记复核，结束后不能再签到。",
                      "Close this activity? Whoever is still checked in is checked out and "
                      "flagged for review; nobody can check in afterwards."),
    "close_yes": ("确定结束", "Close it"),
    "confirm_publish": ("确定发布本月光荣榜吗？发布后名单冻结、开始公示，不能撤回。",
                        "Publish this month's honor roll? It is frozen and the publicity "
                        "period starts; it cannot be withdrawn."),
    "publish_yes": ("确定发布", "Publish it"),
    # editing, rescheduling and cancelling an activity
    "edit_activity": ("修改/改期/取消", "Edit, reschedule, cancel"),
    "edit_title": ("修改活动", "Edit the activity"),
    "revise_title": ("修改名称和人数上限", "Change the title or capacity"),
    "revise_help": ("已有人签到也可以修改；人数上限不能少于已签到的人数。"
                    "已转发的海报不会随之改变。",
                    "Possible after people checked in too; the capacity cannot be lower than "
                    "the number who checked in. Posters already shared do not change."),
    "capacity_unlimited_blank": ("人数上限（不填为不限）", "Capacity (blank: no limit)"),
    "revise_reason": ("修改名称或人数的原因", "Why the title or capacity changes"),
    "revise_submit": ("保存名称和人数", "Save the title and capacity"),
    "revised_ok": ("已修改活动名称和人数上限", "The title and capacity were changed"),
    "reschedule_title": ("修改时间地点（改期）", "Change the time or place (reschedule)"),
    "reschedule_help": ("已有人签到的活动不能改期。已转发的海报不会随之改变，请另行告知参加者。",
                        "An activity someone has checked in to cannot be rescheduled. Posters "
                        "already shared do not change: tell the participants."),
    "change_reason": ("修改原因", "Reason for the change"),
    "reschedule_submit": ("保存修改", "Save the change"),
    "rescheduled_ok": ("已修改活动时间地点", "The time and place were changed"),
    "cancel_title": ("取消活动", "Cancel the activity"),
    "cancel_help": ("取消后不能签到，也不能恢复；已有确认时长的活动不能取消，请结束活动。",
                    "Nobody can check in to a cancelled activity and it cannot be restored; "
                    "an activity with confirmed hours cannot be cancelled: close it."),
    "cancel_reason": ("取消原因", "Reason for cancelling"),
    "cancel_submit": ("取消活动", "Cancel the activity"),
    "confirm_cancel": ("确定取消这个活动吗？取消后不能恢复。",
                       "Cancel this activity? This cannot be undone."),
    "cancel_yes": ("确定取消活动", "Cancel it"),
    "cancelled_ok": ("活动已取消", "The activity was cancelled"),
    "not_editable": ("活动已结束或已取消，不能修改",
                     "A closed or cancelled activity cannot be changed"),
    "organiser_check_in": ("代为签到（输入党员编号或扫描个人码）",
                           "Check a member in (member number or personal code)"),
    "member_code": ("党员编号或个人码", "Member number or personal code"),
    "scan": ("扫码", "Scan"),
    "member_not_found": ("没有找到该党员", "No such member"),
    "organiser_checked_in": ("已代为签到", "Checked in"),
    "no_participants": ("还没有人签到", "Nobody has checked in yet"),
    "still_in": ("仍在场", "still here"),
    "flag_auto_closed": ("未签退，自动签退", "auto-closed"),
    "flag_early": ("提前签到", "early check-in"),
    "flag_late": ("超时签退", "late check-out"),
    "flag_shared_device": ("同一手机为多人签到", "one phone, several members"),
    "flag_overlap": ("与其他活动时间重叠", "overlaps another activity"),
    "flag_correction_requested": ("本人申请更正", "correction requested"),
    "request_reason": ("申请理由", "The member says"),
    "requested": ("申请", "asks for"),
    "flag_beyond_presence": ("超过在场时间认定", "credited beyond presence"),
    "accept_as_asked": ("按申请认定", "Accept as asked"),
    "amend_request": ("修改认定", "Amend"),
    "refuse_request": ("不予更正", "Refuse"),
    "refuse_reason": ("不予更正的原因", "Why it is refused"),
    "amend_reason": ("修改认定的原因", "Why these hours"),
    "confirm_before_answer": ("请先确认出勤，再处理更正申请",
                              "Confirm the record first, then answer the request"),
    "request_accepted_ok": ("已按申请认定", "Accepted as asked"),
    "request_amended_ok": ("已修改认定", "Amended"),
    "request_refused_ok": ("已答复：不予更正", "Refused"),
    "history": ("更正记录", "Correction history"),
    "step_asked": ("本人申请", "Asked"),
    "step_accepted": ("按申请认定", "Accepted as asked"),
    "step_amended": ("修改认定", "Amended"),
    "step_refused": ("不予更正", "Refused"),
    "step_corrected": ("组织者更正", "Corrected by an organiser"),
    "step_confirmed": ("确认出勤", "Confirmed"),
    "step_revoked": ("撤销", "Revoked"),
    "previously": ("原", "was"),
    "by": ("经办", "by"),
    "why": ("理由", "Why"),
    "row_actions": ("更正 / 撤销", "Correct / revoke"),
    "search_roster": ("搜索姓名或党员编号", "Search name or member number"),
    "clear_search": ("显示全部", "Show all"),
    "no_match": ("没有符合条件的人员", "Nobody matches"),
    "present_of_capacity": ("已签到 {n} / 容量 {cap} 人", "{n} checked in of {cap}"),
    "present_unlimited": ("已签到 {n} 人（不限人数）", "{n} checked in (no limit)"),
    "bad_hours": ("时长请填写0至24之间的小时数，如 1.5", "Hours: a number from 0 to 24, e.g. 1.5"),
    "unknown_row": ("某一行", "One row"),
    "row_refused": ("{who}：{why}。本次未确认任何人，已填写的时长均已保留，请修改该行后重新提交。",
                    "{who}: {why}. Nobody was confirmed; your figures are kept: fix that row "
                    "and submit again."),
    "review_help": ("以下记录需要有人核实：确认、更正或撤销，系统不会自动删除。",
                    "These records need a person: confirm, correct or revoke; nothing is "
                    "dropped silently."),
    "nothing_to_review": ("没有待复核的记录", "Nothing to review"),
    "live_help": ("请用手机扫描二维码签到，或在签到页输入下方6位数字。二维码每3分钟更换。",
                  "Scan with a phone, or type the 6 digits below on the check-in page. The "
                  "code changes every 3 minutes."),
    "changes_at": ("下次更换", "Changes at"),
    "poster_help": ("微信或手机相机扫码签到；首次使用需输入党员编号和密码",
                    "Scan with WeChat or the phone's camera to check in; the first time, "
                    "enter your member number and PIN"),
    "poster_window": ("本二维码仅在 {opens}–{ends} 签到时段内有效，请勿转发到群里",
                      "This QR code works only from {opens} to {ends}; please do not forward "
                      "it to group chats"),
    "flag_poster_only": ("仅凭海报签到（未用现场码）", "poster only (no live code)"),
    "print": ("打印", "Print"),
    "back": ("返回", "Back"),
    "csrf_failed": ("页面已过期或来源不明，请返回刷新页面后再提交。",
                    "This form has expired or did not come from this site: go back, reload "
                    "and try again."),
    "not_found": ("页面不存在", "Page not found"),
    "error": ("出错了", "Something went wrong"),
    "honor_rolls": ("光荣榜", "Honor rolls"),
    "personal_link": ("个人签到链接", "Personal sign-in link"),
    "personal_link_help": ("为不便输入密码的党员生成个人链接（7天有效），请私下发送给本人，"
                           "不要发到群里。",
                           "A personal link (valid 7 days) for a member who cannot use a PIN. "
                           "Send it to that member privately, never to a group chat."),
    "make_link": ("生成链接", "Make the link"),
    "copy_link": ("复制链接", "Copy the link"),
    "copied": ("已复制，可粘贴到私信中发送", "Copied: paste it into a private message"),
    "copy_by_hand": ("无法自动复制：链接已选中，请长按或按 Ctrl+C 复制",
                     "Could not copy automatically: the link is selected, long-press it or "
                     "press Ctrl+C"),
    "link_expired": ("链接已失效，请向组织者重新索取", "This link has expired: ask the organiser "
                     "for a new one"),
    "honor_rolls_help": ("每月光荣榜按评选规则由服务时长自动生成草稿；核对后发布即进入公示，"
                         "发布后的名单不再改变（之后的更正计入以后的月份）。",
                         "Each month's honor roll is drafted from the confirmed hours by the "
                         "rule set; check it, then publish to start the publicity period. A "
                         "published roll never changes (later corrections count in later "
                         "months)."),
    "draft": ("草稿", "Draft"),
    "published": ("已发布", "Published"),
    "publicity_until": ("公示至", "Publicity until"),
    "objections": ("异议", "Objections"),
    "rank": ("名次", "Rank"),
    "activity_count": ("活动次数", "Activities"),
    "no_entries": ("本月没有符合条件的人员", "Nobody qualifies this month"),
    "publish": ("发布并开始公示", "Publish and start the publicity period"),
    "publicity_days": ("公示天数", "Publicity days"),
    "publicity_days_invalid": ("公示天数须为7至60之间的整数",
                               "publicity days must be a whole number from 7 to 60"),
    "published_ok": ("已发布，公示开始", "Published: the publicity period has started"),
    "print_poster": ("打印光荣榜", "Print the poster"),
    "public_page": ("公示页（姓名脱敏）", "Public page (names masked)"),
    "community_summary": ("本月概况", "This month"),
    "rule_set": ("评选规则", "Rule set"),
    "publish_when_over": ("本月结束后才能发布", "A month can be published once it is over"),
    # exports, the unit tree, the activity report, the employer digest
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_xlsx": ("导出 Excel", "Export Excel"),
    "reports_unavailable": ("报表服务暂时不可用，请稍后刷新", "The reports are unavailable; "
                            "reload later"),
    "show": ("查看", "Show"),
    "unit_tree_help": ("各级组织按隶属关系排列；街道、社区的数字含其下所有组织。",
                       "Units in their tree; a street's and a community's figures include "
                       "every unit below them."),
    "activity_report": ("活动统计", "Activity report"),
    "totals_line": ("开展活动 {activities} 次 · 参与 {participants} 人、{person_times} 人次 · "
                    "服务 {hours} 小时",
                    "{activities} activities · {participants} people, {person_times} "
                    "person-times · {hours} hours"),
    "members_reported": ("报到党员", "Members reported"),
    "no_activity": ("本月没有活动记录", "No activity this month"),
    "total": ("合计", "Total"),
    "digest": ("双报到反馈", "Employer digest"),
    "digest_help": ("选择季度和在职党员的工作单位，查看其在本组织的报到、参加活动和服务时长，"
                    "可导出后反馈给工作单位。",
                    "Choose a quarter and an employer of in-service members to see their "
                    "reporting, activities and hours here, and export it for the employer."),
    "quarter": ("季度", "Quarter"),
    "employer": ("工作单位", "Employer"),
    "choose_employer": ("请选择工作单位", "Choose an employer"),
    "digest_no_such_employer": ("该季度本组织没有这个工作单位的在职党员，请从列表中选择",
                                "No in-service member of that employer here this quarter: "
                                "choose one from the list"),
    "no_employers": ("该季度本组织没有在职党员报到", "No in-service members here this quarter"),
    "members_count": ("{n} 人", "{n} members"),
    "digest_next": ("下一页", "Next page"),
    "no_members": ("没有成员", "No members"),
}


MESSAGES.update(CERTIFICATE_MESSAGES)
# Activity and unit kinds are named once, in the shared vocabulary.
MESSAGES.update({f"kind_{kind}": label for kind, label in ACTIVITY_KINDS.items()})
MESSAGES.update({f"unit_kind_{kind}": label for kind, label in UNIT_KINDS.items()})


def translate(key: str, lang: Lang) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]
