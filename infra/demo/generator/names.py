"""Word lists for generated names: people, places, units, employers, activity titles.

Names are plausible but invented; phone numbers use the 1xx mobile format and are random.
"""

from __future__ import annotations

import random

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史黎贺顾毛郝"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊"
    "帆帅旭宁婷欣怡佳琳晨雪梅兰凤洁琴云莲真环昆德建国志文海波春荣嘉庆翠秋月素珍永福生林东"
)

STREETS = ("东城", "南城", "西城", "中城", "西陂", "曹溪", "东肖", "龙门", "铁山", "红坊",
           "雁石", "适中")
PLACE_WORDS = (
    "龙津", "华莲", "登高", "莲东", "和平", "中山", "北环", "溪南", "南环", "曹溪", "翠屏", "紫阳",
    "东宝", "龙腾", "西安", "凤凰", "乘风", "龙岩", "石埠", "条围", "陈陂", "江山", "小洋", "苏坂",
    "岩山", "白沙", "万安", "大池", "小池", "红坊", "雁石", "适中", "铁山", "东肖", "龙门", "西陂",
    "莲花", "青草", "后田", "溪兜", "新祠", "南阳", "北城", "桃园", "梅亭", "金鸡", "松涛", "丰泽",
    "东安", "西山", "南湖", "北岭", "翠园", "荷塘", "锦绣", "富山", "崇文", "育才", "华侨", "体育",
)
COMPOUND_SUFFIXES = ("花园", "小区", "家园", "新村", "苑", "公寓", "里", "雅居", "嘉园", "华庭")
TEAMS = ("小巷管家", "老党员先锋队", "红袖章巡逻队", "环境整治志愿队", "文明劝导队", "关爱帮扶队")
EMPLOYERS = (
    "新罗区人民医院", "龙岩市第一中学", "国网龙岩供电公司", "龙岩市税务局", "新罗区教育局",
    "龙岩学院", "中国银行龙岩分行", "龙岩市自来水公司", "新罗区市场监督管理局", "龙岩市中医院",
    "龙岩烟草公司", "新罗区住建局", "龙岩市公安局新罗分局", "龙岩市实验小学", "中国移动龙岩分公司",
)
LEAVE_REASONS = ("组织关系转出", "迁出本区居住", "工作调动")

# kind -> (category, titles)
ACTIVITY_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "cleanup": ("service", ("楼道杂物清理", "小区环境整治", "清理小广告", "除草保洁",
                            "垃圾分类宣传引导", "背街小巷清扫")),
    "patrol": ("service", ("红袖章治安巡逻", "夜间平安巡逻", "重点时段安保巡逻",
                           "消防通道巡查")),
    "lecture": ("attendance", ("党课：学习党的二十大精神", "社区讲堂：防范电信诈骗",
                               "消防安全知识讲座", "主题党日：红色教育", "健康知识讲座")),
    "meeting": ("attendance", ("三会一课：支部党员大会", "党小组会", "共驻共建联席会")),
    "forum": ("attendance", ("在职党员报到座谈会", "居民议事会", "老党员座谈会")),
    "service": ("service", ("走访慰问独居老人", "消防安全隐患排查", "反诈宣传进楼栋",
                            "义诊服务", "助老助残上门服务", "文明城市创建入户宣传")),
}
# kind -> whom or what it serves (服务对象/内容), as the record rules ask.
BENEFICIARIES = {
    "cleanup": "小区居民（公共环境）",
    "patrol": "辖区居民（治安防控）",
    "service": "独居、高龄老人等困难群众",
    "lecture": "党员群众（学习教育）",
    "meeting": "支部党员",
    "forum": "在职党员、居民代表",
}
PLACES = ("社区党群服务中心", "小区中心广场", "小区北门岗亭", "社区文化活动室", "楼栋单元门口",
          "小区南门", "社区新时代文明实践站", "小区停车场", "社区议事厅")


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
