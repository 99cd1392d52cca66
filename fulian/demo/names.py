"""Deterministic, realistic Chinese names for demo and benchmark data."""

from __future__ import annotations

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN_FEMALE = "秀英桂兰玉梅丽敏静芳娟霞红艳萍华燕琴云莲凤荣春菊琳雪慧婷洁颖晶倩露婕妍瑶怡佳欣悦雯蓉"
GIVEN_MALE = "伟强军杰涛明超勇刚平辉建国志华文斌鹏"

TOWNSHIPS = [
    "城关镇",
    "东岗镇",
    "西河乡",
    "南湖镇",
    "北山乡",
    "桃花镇",
    "柳林镇",
    "石门乡",
    "青石镇",
    "白沙镇",
    "黄土岭乡",
    "龙潭镇",
    "凤凰镇",
    "杨柳乡",
    "新集镇",
    "高桥镇",
    "马鞍山乡",
    "梅岭镇",
]
STREETS = ["城东街道", "城西街道", "城南街道", "城北街道", "滨河街道", "新华街道", "人民路街道"]
VILLAGE_HEADS = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏"
VILLAGE_TAILS = [
    "庄",
    "家湾",
    "家坪",
    "家岭",
    "楼",
    "集",
    "店",
    "家沟",
    "家畈",
    "家寨",
    "坪",
    "河",
    "桥",
    "岗",
    "湾",
    "塘",
    "冲",
    "堰",
]
COMMUNITY_WORDS = [
    "和平",
    "幸福",
    "建设",
    "光明",
    "朝阳",
    "丰收",
    "解放",
    "文化",
    "育才",
    "滨江",
    "东风",
    "胜利",
    "长青",
    "团结",
    "花园",
    "锦绣",
]
AGENCIES = [
    "县委办公室",
    "县政府办公室",
    "县教育局",
    "县卫生健康委员会",
    "县人民医院",
    "县中医院",
    "县妇幼保健院",
    "县财政局",
    "县人力资源和社会保障局",
    "县民政局",
    "县公安局",
    "县人民法院",
    "县人民检察院",
    "县司法局",
    "县农业农村局",
    "县市场监督管理局",
    "县税务局",
    "县住房和城乡建设局",
    "县文化广电和旅游局",
    "县统计局",
    "县第一中学",
    "县第二中学",
    "县实验小学",
    "县职业教育中心",
    "县疾病预防控制中心",
    "县林业局",
    "县水利局",
    "县交通运输局",
    "县自然资源局",
    "县应急管理局",
    "县乡村振兴局",
    "县融媒体中心",
]
ENTERPRISES = [
    "县供电公司",
    "县农商银行",
    "县邮政分公司",
    "县电信分公司",
    "县移动分公司",
    "县自来水公司",
    "县纺织有限公司",
    "县茶业有限公司",
    "县食品有限公司",
    "县电子科技有限公司",
    "县服装有限公司",
    "县建筑工程有限公司",
    "县物流有限公司",
    "县农业发展有限公司",
]
NEW_ORGS = [
    "县律师协会",
    "县个体私营企业协会",
    "县电子商务协会",
    "县家政服务协会",
    "县巾帼志愿者协会",
    "县女企业家协会",
    "县社会工作服务中心",
    "县快递行业党委",
    "县网络作家协会",
    "县养老服务协会",
]


def person_name(rng: random.Random, female: bool = True) -> str:
    pool = GIVEN_FEMALE if female else GIVEN_MALE
    given = rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def village_names(rng: random.Random, count: int, used: set[str]) -> list[str]:
    names = []
    while len(names) < count:
        name = rng.choice(VILLAGE_HEADS) + rng.choice(VILLAGE_TAILS) + "村"
        if name not in used:
            used.add(name)
            names.append(name)
    return names


def community_names(rng: random.Random, count: int, used: set[str]) -> list[str]:
    names = []
    while len(names) < count:
        name = rng.choice(COMMUNITY_WORDS) + rng.choice(["", "路", "街", "里", "苑"]) + "社区"
        if name not in used:
            used.add(name)
            names.append(name)
    return names


def mobile(rng: random.Random) -> str:
    return (
        rng.choice(["138", "139", "137", "150", "151", "158", "187", "188", "135", "136"])
        + f"{rng.randrange(10**8):08d}"
    )
