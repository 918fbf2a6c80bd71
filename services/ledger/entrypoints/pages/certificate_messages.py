"""The certificate and dashboard pages' words (Chinese first), kept apart from the main
catalogue so the pages that come and go with them carry their own."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "certificates": ("志愿服务证明", "Service certificates"),
    "certificate_title": ("志愿服务证明", "Volunteer service certificate"),
    "certificate_number": ("证明编号", "Certificate number"),
    "certificate_issue": ("出具证明", "Issue a certificate"),
    "certificate_issue_help": ("根据已确认的服务记录，按月汇总所选期间的服务时长和内容。"
                               "证明由本单位出具，打印后加盖公章生效。",
                               "Confirmed service of the period, by month. Your unit issues "
                               "it; print it and stamp it with the unit's seal."),
    "certificate_member_unknown": ("没有该成员编号", "No member with that number"),
    "certificate_first_month": ("起始月份", "From month"),
    "certificate_last_month": ("截止月份", "To month"),
    "certificate_contact": ("联系方式（选填）", "Contact (optional)"),
    "certificate_issued_list": ("已出具的证明", "Certificates issued"),
    "certificate_none": ("尚未出具证明", "No certificates yet"),
    "certificate_print": ("打印证明", "Print"),
    "certificate_period": ("服务期间", "Period"),
    "certificate_to": ("至", "to"),
    "certificate_content": ("服务内容", "Service"),
    "certificate_total": ("合计", "Total"),
    "certificate_issuer": ("出具单位", "Issued by"),
    "certificate_handler": ("经办人", "Handled by"),
    "certificate_contact_label": ("联系方式", "Contact"),
    "certificate_date": ("出具日期", "Date of issue"),
    "certificate_seal": ("（盖章）", "(seal)"),
    "certificate_name": ("姓名", "Name"),
    "certificate_member_number": ("成员编号", "Member number"),
    "certificate_body": ("兹证明 {name}（成员编号：{number}）于 {first} 至 {last} 期间参加"
                         "{issuer}组织的志愿服务活动 {count} 次，经记录确认，累计服务时长 "
                         "{hours} 小时。服务情况如下：",
                         "This certifies that {name} (member number {number}) took part in "
                         "{count} volunteer service activities organised by {issuer} from "
                         "{first} to {last}, {hours} hours of confirmed service in all, as "
                         "follows:"),
    "certificate_free": ("本证明依据志愿服务记录出具，不收取任何费用。扫描二维码或访问下方网址"
                         "可核验本证明。",
                         "Issued free of charge from the service records. Scan the QR code "
                         "or open the address below to verify it."),
    "certificate_mine_help": ("志愿服务证明由记录服务的组织单位免费出具：在此选择期间提交申请，"
                              "所在社区或党支部审核后出具，出具后可在此查看和打印，"
                              "并到出具单位加盖公章。",
                              "Certificates are issued free by the unit that recorded the "
                              "service: ask here for a period, your community or branch checks "
                              "and issues it, then view and print it here and have it stamped "
                              "by the issuing unit."),
    "certificate_request": ("申请开具证明", "Ask for a certificate"),
    "certificate_request_submit": ("提交申请", "Send the request"),
    "certificate_request_sent": ("申请已提交，请等待所在社区或党支部审核出具",
                                 "Your request was sent; your community or branch will answer"),
    "certificate_request_waiting": ("您有一份申请正在等待审核，答复后可再申请。",
                                    "A request of yours is waiting for its answer; you can ask "
                                    "again once it is answered."),
    "certificate_my_requests": ("我的申请", "My requests"),
    "certificate_asked_on": ("申请日期", "asked on"),
    "certificate_request_open": ("待审核", "Waiting"),
    "certificate_request_issued": ("已出具", "Issued"),
    "certificate_request_refused": ("未予出具", "Not issued"),
    "certificate_refused_why": ("原因", "Why"),
    "certificate_open_requests": ("待处理的证明申请", "Certificate requests to answer"),
    "certificate_no_requests": ("没有待处理的申请", "No request is waiting"),
    "certificate_issue_requested": ("按申请出具", "Issue as asked"),
    "certificate_refuse_reason": ("不予出具的原因（不予出具时必填）", "Why not (to refuse)"),
    "certificate_refuse_needs_reason": ("不予出具须填写原因", "Give the reason for refusing"),
    "certificate_refuse": ("不予出具", "Refuse"),
    "certificate_request_refused_ok": ("已答复：不予出具", "Answered: not issued"),
    "certificate_request_missing": ("没有这份证明申请", "No such request"),
    "certificate_missing": ("未找到该证明", "Certificate not found"),
    "certificate_missing_help": ("台账中没有这个证明编号。请核对编号；纸面证明若无法核验，"
                                 "可能是伪造的。",
                                 "The ledger holds no certificate with this number. Check the "
                                 "number; a paper that cannot be verified may be forged."),
    "certificate_verified": ("证明核验：台账记录如下", "Verification: the ledger's record"),
    "certificate_verify_help": ("请逐项核对纸面证明上的姓名、期间、时长、出具单位和日期；"
                                "与本页不一致的，以本页为准，纸面证明可能被涂改。",
                                "Compare the paper with this page: name, period, hours, issuer "
                                "and date. Where they differ this page is right and the paper "
                                "may have been altered."),
    "certificate_checked_on": ("核验日期", "Checked on"),
    "my_certificates": ("我的志愿服务证明", "My certificates"),
    "dashboard": ("服务看板", "Dashboard"),
    "dashboard_unavailable": ("报表服务暂时无法提供看板，请稍后再试",
                              "The dashboard is not available now; try again later"),
}
