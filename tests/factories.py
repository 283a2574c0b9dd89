"""Factories: records made directly, for arranging a test (services are what tests exercise)."""

from __future__ import annotations

import factory
from django.utils import timezone

from kedun.customers.models import Contact, Customer
from kedun.org.models import ROLE_DEFAULT_SCOPE, Department, Role, User
from kedun.sales.orders.logistics import days_late_of


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


# -- sales (appended: models named by label, so the file's imports stay as they were) -------


class _DecimalFields:
    """Amounts and rates given as text or int become Decimal, as read back from the database."""

    _decimal_fields: tuple[str, ...] = ()

    @classmethod
    def _adjust_kwargs(cls, **kwargs):
        from decimal import Decimal

        for name in cls._decimal_fields:
            if isinstance(kwargs.get(name), str | int):
                kwargs[name] = Decimal(str(kwargs[name]))
        return kwargs


class ProductFactory(_DecimalFields, factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.Product"

    _decimal_fields = ("list_price", "floor_price", "tax_rate", "commission_rate")
    sku = factory.Sequence(lambda n: f"P{n:05d}")
    name = factory.Sequence(lambda n: f"产品{n}")
    unit = "件"
    list_price = "100.00"
    floor_price = "80.00"
    tax_rate = "0.1300"


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.PriceList"

    name = factory.Sequence(lambda n: f"价目表{n}")


class PriceListItemFactory(_DecimalFields, factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.PriceListItem"

    _decimal_fields = ("price",)
    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    price = "90.00"


# sales: commission (orders, invoices and payments as rows; amounts as text become Decimal)


class OrderFactory(_DecimalFields, factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.Order"

    _decimal_fields = ("net_total", "tax_total", "invoiced_total", "paid_total")
    number = factory.Sequence(lambda n: f"SO{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    owner = factory.SelfAttribute("customer.owner")
    status = "confirmed"
    promised_date = factory.LazyFunction(timezone.localdate)
    net_total = "1000.00"
    tax_total = "130.00"
    created_by = factory.SelfAttribute("owner")
    created_at = factory.LazyFunction(timezone.now)
    delivered_at = None
    # As the services write them: days late with the delivery, a moment with a loss.
    days_late = factory.LazyAttribute(lambda o: days_late_of(o) if o.delivered_at else None)
    lost_at = factory.LazyAttribute(lambda o: o.created_at if o.status == "lost" else None)


class OrderLineFactory(_DecimalFields, factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.OrderLine"

    _decimal_fields = ("quantity", "unit_price", "tax_rate", "net_amount", "tax_amount")
    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = "1.000"
    unit_price = factory.SelfAttribute("net_amount")
    tax_rate = "0.1300"
    net_amount = "1000.00"
    tax_amount = "130.00"


class InvoiceFactory(_DecimalFields, factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.Invoice"

    _decimal_fields = ("amount", "paid_amount")
    order = factory.SubFactory(OrderFactory)
    owner = factory.SelfAttribute("order.owner")
    number = factory.Sequence(lambda n: f"INV{n:08d}")
    amount = "1130.00"
    issued_on = factory.LazyFunction(timezone.localdate)
    due_on = factory.SelfAttribute("issued_on")
    recorded_by = factory.SubFactory(UserFactory, role=Role.FINANCE)
    recorded_at = factory.LazyFunction(timezone.now)


class PaymentFactory(_DecimalFields, factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.Payment"

    _decimal_fields = ("amount",)
    invoice = factory.SubFactory(InvoiceFactory)
    amount = "1130.00"
    received_on = factory.LazyFunction(timezone.localdate)
    payer_name = factory.SelfAttribute("invoice.order.customer.name")
    payer_account = "6222020200112233445"
    recorded_by = factory.SelfAttribute("invoice.recorded_by")
    recorded_at = factory.LazyFunction(timezone.now)


class RepTermsFactory(_DecimalFields, factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.RepTerms"

    _decimal_fields = ("max_discount_rate", "commission_rate")
    rep = factory.SubFactory(UserFactory)
    max_discount_rate = "0.1000"
    commission_rate = "0.0300"


class CommissionEntryFactory(_DecimalFields, factory.django.DjangoModelFactory):
    class Meta:
        model = "sales.CommissionEntry"

    _decimal_fields = ("amount",)
    payment = factory.SubFactory(PaymentFactory)
    order = factory.SelfAttribute("payment.invoice.order")
    rep = factory.SelfAttribute("order.owner")
    amount = "10.00"
    status = "payable"
    created_at = factory.LazyFunction(timezone.now)
