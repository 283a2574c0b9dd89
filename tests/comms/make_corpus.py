"""Writes the real-world-shaped messages of corpus/ (run once; the files are committed).

Each one is a shape Chinese mail really takes: GBK text labelled gb2312, Big5, raw 8-bit
headers, RFC 2047 file names, a multi-byte character split across two encoded words, broken
MIME, no Message-ID. `python tests/comms/make_corpus.py` rewrites them byte for byte.
"""

from __future__ import annotations

import base64
from pathlib import Path

HERE = Path(__file__).parent / "corpus"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode().strip()


def word(text: str, charset: str) -> str:
    return f"=?{charset}?B?{base64.b64encode(text.encode(charset)).decode()}?="


def write(name: str, lines: list[str | bytes]) -> None:
    out = b"".join(
        (line if isinstance(line, bytes) else line.encode("ascii")) + b"\r\n" for line in lines
    )
    (HERE / name).write_bytes(out)


def main() -> None:
    HERE.mkdir(exist_ok=True)
    # 1. GBK characters (镕, 喆, 堃) in parts and headers labelled gb2312, as Foxmail and
    # Outlook write them.
    write(
        "gb2312_holding_gbk.eml",
        [
            f"From: {word('王喆', 'gbk').replace('gbk', 'gb2312')} <wangzhe@hengda-jx.com>",
            "To: rep1@kedun.test",
            f"Subject: {word('关于朱镕基路仓库的报价', 'gbk').replace('gbk', 'gb2312')}",
            "Date: Tue, 02 Mar 2027 10:15:00 +0800",
            "Message-ID: <gbk-001@hengda-jx.com>",
            "MIME-Version: 1.0",
            'Content-Type: text/plain; charset="gb2312"',
            "Content-Transfer-Encoding: base64",
            "",
            b64("王喆：堃哥说镕基路仓库下周到货，请报价。".encode("gbk")),
        ],
    )
    # 2. Big5 (Taiwan, Hong Kong): subject, body and an RFC 2231 file name.
    big5_name = "報價單.pdf".encode("big5")
    write(
        "big5_with_attachment.eml",
        [
            f"From: {word('陳大文', 'big5')} <chan@hk-trading.com.hk>",
            "To: rep1@kedun.test",
            f"Subject: {word('報價查詢：不鏽鋼管', 'big5')}",
            "Date: Wed, 03 Mar 2027 09:00:00 +0800",
            "Message-ID: <big5-001@hk-trading.com.hk>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="b5"',
            "",
            "--b5",
            "Content-Type: text/plain; charset=big5",
            "Content-Transfer-Encoding: base64",
            "",
            b64("您好，請報價不鏽鋼管一百支。".encode("big5")),
            "--b5",
            "Content-Type: application/pdf",
            "Content-Disposition: attachment; filename*=big5''"
            + "".join(f"%{b:02X}" for b in big5_name),
            "Content-Transfer-Encoding: base64",
            "",
            b64(PDF),
            "--b5--",
        ],
    )
    # 3. Raw 8-bit headers: UTF-8 in one message, GBK in another (old webmail, scripts).
    write(
        "raw_utf8_headers.eml",
        [
            "From: 李采购 <li@hengda-jx.com>".encode(),
            b"To: rep1@kedun.test",
            "Subject: 样品已收到，谢谢".encode(),
            b"Date: Thu, 04 Mar 2027 08:30:00 +0800",
            b"Message-ID: <raw-utf8-001@hengda-jx.com>",
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Transfer-Encoding: 8bit",
            b"",
            "样品已收到，质量不错。".encode(),
        ],
    )
    write(
        "raw_gbk_headers.eml",
        [
            "From: 赵经理 <zhao@hengda-jx.com>".encode("gbk"),
            b"To: rep1@kedun.test",
            "Subject: 合同盖章版".encode("gbk"),
            b"Date: Thu, 04 Mar 2027 09:30:00 +0800",
            b"Message-ID: <raw-gbk-001@hengda-jx.com>",
            b"Content-Type: text/plain",
            b"Content-Transfer-Encoding: 8bit",
            b"",
            "合同已盖章，请查收。".encode("gbk"),
        ],
    )
    # 4. multipart/mixed with alternative text and HTML, a PDF whose name is an encoded word
    # (as most Chinese clients write it), and an inline image.
    write(
        "multipart_quote.eml",
        [
            "From: rep1@kedun.test",
            f"To: {word('王喆', 'utf-8')} <wangzhe@hengda-jx.com>",
            "Cc: boss@kedun.test",
            f"Subject: {word('回复：关于朱镕基路仓库的报价', 'utf-8')}",
            "Date: Tue, 02 Mar 2027 14:00:00 +0800",
            "Message-ID: <quote-reply-001@kedun.test>",
            "In-Reply-To: <gbk-001@hengda-jx.com>",
            "References: <gbk-001@hengda-jx.com>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="outer"',
            "",
            "--outer",
            'Content-Type: multipart/alternative; boundary="alt"',
            "",
            "--alt",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "=E7=8E=8B=E5=96=86=E6=82=A8=E5=A5=BD=EF=BC=8C=E6=8A=A5=E4=BB=B7=E8=A7=81=E9=99=84=E4=BB=B6=E3=80=82",
            "--alt",
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "",
            b64("<p>王喆您好，报价见附件。</p>".encode()),
            "--alt--",
            "--outer",
            "Content-Type: application/pdf",
            f'Content-Disposition: attachment; filename="{word("报价单-2027.pdf", "utf-8")}"',
            "Content-Transfer-Encoding: base64",
            "",
            b64(PDF),
            "--outer",
            "Content-Type: image/png",
            'Content-Disposition: inline; filename="logo.png"',
            "Content-ID: <logo@kedun>",
            "Content-Transfer-Encoding: base64",
            "",
            b64(PNG),
            "--outer--",
        ],
    )
    # 5. HTML only, GBK labelled gb2312.
    write(
        "html_only_gb2312.eml",
        [
            "From: newsletter@hengda-jx.com",
            "To: rep1@kedun.test",
            f"Subject: {word('恒达月刊', 'gb2312')}",
            "Date: Fri, 05 Mar 2027 10:00:00 +0800",
            "Message-ID: <html-001@hengda-jx.com>",
            "Content-Type: text/html; charset=gb2312",
            "Content-Transfer-Encoding: base64",
            "",
            b64(
                "<html><head><style>p{}</style></head><body><p>新品：喆牌阀门</p><br>欢迎垂询</body></html>".encode(
                    "gbk"
                )
            ),
        ],
    )
    # 6. Broken MIME: the closing boundary is missing and the base64 attachment is cut short.
    write(
        "broken_mime.eml",
        [
            "From: li@hengda-jx.com",
            "To: rep1@kedun.test",
            "Subject: =?utf-8?B?5oqA5pyv6KeE5qC85Lmm?=",
            "Date: Sat, 06 Mar 2027 11:00:00 +0800",
            "Message-ID: <broken-001@hengda-jx.com>",
            'Content-Type: multipart/mixed; boundary="cut"',
            "",
            "--cut",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "规格书见附件（传了一半）。".encode(),
            "--cut",
            "Content-Type: application/pdf",
            'Content-Disposition: attachment; filename="spec.pdf"',
            "Content-Transfer-Encoding: base64",
            "",
            b64(PDF * 3)[:50],
        ],
    )
    # 7. No Message-ID, an unreadable Date, an unknown charset holding UTF-8.
    write(
        "no_message_id.eml",
        [
            "From: someone@unknown-co.cn",
            "To: rep1@kedun.test",
            "Subject: =?x-unknown?B?" + base64.b64encode("你好".encode()).decode() + "?=",
            "Date: yesterday afternoon",
            'Content-Type: text/plain; charset="x-unknown"',
            "Content-Transfer-Encoding: 8bit",
            "",
            "一封没有 Message-ID 的邮件。".encode(),
        ],
    )
    # 8. A UTF-8 character split across two encoded words (Outlook does this) and GB18030.
    subject = "询价：𠀀号阀门".encode("gb18030")
    write(
        "split_words_gb18030.eml",
        [
            "From: buyer@hengda-jx.com",
            "To: rep1@kedun.test",
            "Subject: =?gb18030?B?"
            + base64.b64encode(subject[:5]).decode()
            + "?=\r\n =?gb18030?B?"
            + base64.b64encode(subject[5:]).decode()
            + "?=",
            "Date: Sun, 07 Mar 2027 12:00:00 +0800",
            "Message-ID: <split-001@hengda-jx.com>",
            "Content-Type: text/plain; charset=gb18030",
            "Content-Transfer-Encoding: base64",
            "",
            b64("𠀀号阀门要两百个。".encode("gb18030")),
        ],
    )
    # 9. A customer's message forwarded whole (message/rfc822) to a private address.
    write(
        "forward_rfc822.eml",
        [
            "From: rep1@kedun.test",
            "To: rep1.private@qq.com",
            f"Subject: {word('转发: 关于朱镕基路仓库的报价', 'utf-8')}",
            "Date: Mon, 08 Mar 2027 20:00:00 +0800",
            "Message-ID: <fwd-001@kedun.test>",
            'Content-Type: multipart/mixed; boundary="fw"',
            "",
            "--fw",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "FYI",
            "--fw",
            "Content-Type: message/rfc822",
            "",
            "From: wangzhe@hengda-jx.com",
            "Subject: =?utf-8?B?" + base64.b64encode("仓库报价".encode()).decode() + "?=",
            "Message-ID: <inner-001@hengda-jx.com>",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "请报价。".encode(),
            "--fw--",
        ],
    )


if __name__ == "__main__":
    main()
