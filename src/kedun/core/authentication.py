from rest_framework.authentication import TokenAuthentication as DrfTokenAuthentication


class TokenAuthentication(DrfTokenAuthentication):
    """`Authorization: Token <key>`; a deactivated user's token stops working at once."""

    keyword = "Token"
