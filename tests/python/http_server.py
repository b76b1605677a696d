"""A loopback HTTP server for the download tests. Serves DIR on 127.0.0.1 at
a free port, printed on the first line of stdout. A request for
/cut/<file> sends the headers of the whole file but only half of its bytes,
then closes the connection (an interrupted transfer).

usage: http_server.py DIR
"""
import functools
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/cut/"):
            path = os.path.join(self.directory, self.path[len("/cut/"):])
            if not os.path.isfile(path):
                self.send_error(404)
                return
            data = open(path, "rb").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


def main():
    handler = functools.partial(Handler, directory=sys.argv[1])
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
