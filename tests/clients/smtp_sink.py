"""A real SMTP server for the tests (aiosmtpd): every message it accepts is appended to a JSON-lines
file before the 250 goes back: the envelope, the decoded headers the tests check, and the text and
HTML parts (Python's email package undoes the MIME encoding). Prints "ready PORT" once listening.
Usage: smtp_sink.py OUT.jsonl"""

import asyncio
import email
import email.policy
import json
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        line = json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "message_id": str(msg["Message-ID"]),
            "list_unsubscribe": msg["List-Unsubscribe"] and str(msg["List-Unsubscribe"]),
            "list_unsubscribe_post": msg["List-Unsubscribe-Post"] and str(msg["List-Unsubscribe-Post"]),
            "text": text.get_content().replace("\r\n", "\n") if text is not None else None,
            "html": html.get_content().replace("\r\n", "\n") if html is not None else None,
        }, ensure_ascii=False)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
        return "250 Message accepted for delivery"


def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Sink(sys.argv[1]), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"ready {port}", flush=True)
    try:
        asyncio.get_event_loop().run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
