"""Factories: records made directly, for arranging a test (services are what tests exercise)."""

from __future__ import annotations

import factory
from django.utils import timezone

from kedun.customers.models import Contact, Customer
from kedun.org.models import ROLE_DEFAULT_SCOPE, Department, Role, User


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"部门{n}")
    parent = None
    created_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def set_path(self, create, extracted, **kwargs):
        prefix = self.parent.path if self.parent else "/"
        self.path = f"{prefix}{self.pk}/"
        if create:
            self.save(update_fields=["path"])


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.SALES
    department = factory.SubFactory(DepartmentFactory)
    data_scope = factory.LazyAttribute(lambda user: ROLE_DEFAULT_SCOPE[user.role])
    password = factory.django.Password("correct-horse-42")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"T{n:06d}")
    name = factory.Sequence(lambda n: f"测试{n}科技有限公司")
    owner = factory.SubFactory(UserFactory)
    registered_by = factory.SelfAttribute("owner")
    registered_at = factory.LazyFunction(timezone.now)
    needs_review = False


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = "张三"
    phone = "13800138000"
    email = "zhang@example.com"
