"""The demo company: a boss, three regional sales teams, the back office and a few hundred
customers. Loaded by `kedun demo` (and `make run`); loading it twice changes nothing."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path

import companynameparser
from django.db import transaction

from kedun.core import clock
from kedun.customers.models import Customer
from kedun.customers.services import ContactInput, customer_register
from kedun.org.models import Department, Role, User
from kedun.org.services import department_create, user_create

from .lifecycle import RELEASED, customer_life, registration_moment
from .sales import demo_sales_load

COMPANY = "客盾示范有限公司"
DEMO_PASSWORD = "kedun-demo"


@dataclass(frozen=True)
class Person:
    username: str
    full_name: str
    role: str
    department: str
    manager: str = ""


PEOPLE: list[Person] = [
    Person("boss", "王建国", Role.ADMIN, COMPANY),
    Person("auditor", "高洁", Role.AUDITOR, COMPANY),
    Person("orders", "林娟", Role.ORDERS, "单证部"),
    Person("logistics", "马超", Role.LOGISTICS, "物流部"),
    Person("finance", "胡蓉", Role.FINANCE, "财务部"),
    Person("east_mgr", "李明", Role.MANAGER, "华东销售部", "boss"),
    Person("zhangwei", "张伟", Role.SALES, "华东销售部", "east_mgr"),
    Person("lina", "李娜", Role.SALES, "华东销售部", "east_mgr"),
    Person("wangfang", "王芳", Role.SALES, "华东销售部", "east_mgr"),
    Person("liuyang", "刘洋", Role.SALES, "华东销售部", "east_mgr"),
    Person("south_mgr", "陈静", Role.MANAGER, "华南销售部", "boss"),
    Person("zhaolei", "赵磊", Role.SALES, "华南销售部", "south_mgr"),
    Person("huangmin", "黄敏", Role.SALES, "华南销售部", "south_mgr"),
    Person("zhoujie", "周杰", Role.SALES, "华南销售部", "south_mgr"),
    Person("north_mgr", "孙强", Role.MANAGER, "华北销售部", "boss"),
    Person("wuhao", "吴昊", Role.SALES, "华北销售部", "north_mgr"),
    Person("zhengli", "郑丽", Role.SALES, "华北销售部", "north_mgr"),
    Person("xutao", "徐涛", Role.SALES, "华北销售部", "north_mgr"),
    Person("hejing", "何静", Role.SALES, "华北销售部", "north_mgr"),
]

CITIES = {
    "华东销售部": ["上海", "杭州", "南京", "苏州", "宁波", "无锡", "合肥"],
    "华南销售部": ["广州", "深圳", "东莞", "佛山", "厦门", "珠海"],
    "华北销售部": ["北京", "天津", "济南", "青岛", "石家庄", "太原"],
}
PROVINCES = {
    "上海": "上海",
    "杭州": "浙江",
    "南京": "江苏",
    "苏州": "江苏",
    "宁波": "浙江",
    "无锡": "江苏",
    "合肥": "安徽",
    "广州": "广东",
    "深圳": "广东",
    "东莞": "广东",
    "佛山": "广东",
    "厦门": "福建",
    "珠海": "广东",
    "北京": "北京",
    "天津": "天津",
    "济南": "山东",
    "青岛": "山东",
    "石家庄": "河北",
    "太原": "山西",
}
INDUSTRIES = [
    "机械制造",
    "电子科技",
    "包装材料",
    "化工",
    "五金制品",
    "塑胶",
    "纺织",
    "建材",
    "物流",
    "食品",
    "医疗器械",
    "自动化设备",
    "环保科技",
    "贸易",
]
FORMS = ["有限公司", "股份有限公司", "有限公司", "有限公司"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
TITLES = ["采购经理", "总经理", "采购主管", "技术总监", "财务经理", "副总经理"]
CUSTOMERS_PER_REP = 30


def demo_loaded() -> bool:
    return Department.objects.filter(name=COMPANY, parent__isnull=True).exists()


def demo_logins_text() -> str:
    if not demo_loaded():
        return ""
    users = {
        u.username: u
        for u in User.objects.filter(username__in=[p.username for p in PEOPLE], is_active=True)
    }
    if "boss" not in users:
        return ""
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD}):"]
    for person in PEOPLE:
        if person.username in users:
            lines.append(
                f"  {person.username:<10} {person.full_name}  {person.role:<9} {person.department}"
            )
    return "\n".join(lines)


def demo_load() -> dict[str, int]:
    """Create what is missing of the demo company; returns how many things were created."""
    created: dict[str, int] = {"departments": 0, "users": 0, "customers": 0}
    with transaction.atomic():
        root = Department.objects.filter(name=COMPANY, parent__isnull=True).first()
        if root is None:
            root = department_create(actor=None, name=COMPANY)
            created["departments"] += 1
        departments = {COMPANY: root}
        for name in sorted({p.department for p in PEOPLE} - {COMPANY}):
            department = Department.objects.filter(name=name, parent=root).first()
            if department is None:
                department = department_create(actor=None, name=name, parent=root)
                created["departments"] += 1
            departments[name] = department
        users: dict[str, User] = {}
        for person in PEOPLE:
            user = User.objects.filter(username=person.username).first()
            if user is None:
                user = user_create(
                    actor=None,
                    username=person.username,
                    role=person.role,
                    department=departments[person.department],
                    manager=users.get(person.manager),
                    password=DEMO_PASSWORD,
                    full_name=person.full_name,
                )
                created["users"] += 1
            users[person.username] = user
        created["customers"] = _load_customers(users)
        created.update(demo_sales_load(users))
    return created


def _load_customers(users: dict[str, User]) -> int:
    existing = set(Customer.objects.filter(code__startswith="D").values_list("code", flat=True))
    rng = random.Random(20161108)  # fixed: the same demo company every time
    created = 0
    number = 0
    used_names: set[str] = set()
    reps = [p for p in PEOPLE if p.role == Role.SALES]
    now = clock.now()
    # Each rep's own customers, then two each that are already back in the pool (numbered
    # after all the others, so adding them left the older demo customers as they were).
    jobs = [(person, index) for person in reps for index in range(CUSTOMERS_PER_REP)]
    jobs += [(person, CUSTOMERS_PER_REP + i) for person in reps for i in range(len(RELEASED))]
    for person, index in jobs:
        number += 1
        name, city, industry = _company_name(rng, person.department, used_names)
        contacts = [_contact(rng) for _ in range(rng.randint(1, 2))]
        code = f"D{number:04d}"
        phone = _company_phone(rng, person.department)
        if code in existing:
            continue
        with clock.frozen_at(registration_moment(number, now)):
            customer = customer_register(
                actor=users[person.username],
                name=name,
                contacts=contacts,
                code=code,
                phone=phone,
                confirm_possible=True,
                details={"province": PROVINCES[city], "city": city, "industry": industry},
            )
        # A colleague in the same team, for the account teams of a few key customers.
        team = [p.username for p in reps if p.department == person.department]
        colleague = users[team[(team.index(person.username) + 1) % len(team)]]
        extra = index - CUSTOMERS_PER_REP
        customer_life(
            customer,
            number=number,
            index=index,
            now=now,
            manager=users.get(person.manager),
            colleague=colleague if colleague.username != person.username else None,
            released_ago=RELEASED[extra] if extra >= 0 else None,
        )
        created += 1
    return created


@functools.cache
def _trade_names() -> list[str]:
    """Real trade names (字号) from the companynameparser package's brand list."""
    path = Path(companynameparser.__file__).resolve().parent / "data" / "brand.txt"
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [name for name in names if 2 <= len(name) <= 4 and "\u4e00" <= name[0] <= "\u9fff"]


def _company_name(rng: random.Random, department: str, used: set[str]) -> tuple[str, str, str]:
    """A company name, with its city and industry. A fresh trade name for every customer:
    the demo registry holds no duplicates."""
    while True:
        trade = rng.choice(_trade_names())
        if trade not in used:
            used.add(trade)
            city = rng.choice(CITIES[department])
            industry = rng.choice(INDUSTRIES)
            return city + trade + industry + rng.choice(FORMS), city, industry


AREA_CODES = {
    "华东销售部": ["021", "0571", "025", "0512"],
    "华南销售部": ["020", "0755", "0769"],
    "华北销售部": ["010", "022", "0531", "0532"],
}


def _company_phone(rng: random.Random, department: str) -> str:
    return f"{rng.choice(AREA_CODES[department])}-{rng.randint(5_000_000, 8_999_999)}"


def _contact(rng: random.Random) -> ContactInput:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    phone = f"1{rng.choice('3589')}{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
    mailbox = rng.choice(["sales", "purchase", "info", "contact"])
    email = f"{mailbox}{rng.randint(1, 99)}@example.com"
    return ContactInput(name=name, title=rng.choice(TITLES), phone=phone, email=email)
