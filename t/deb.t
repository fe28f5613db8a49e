#!/usr/bin/perl

# Tests for make install and make deb: the files land where Debian's nginx
# looks for them; the package depends on the nginx ABI and the libraries
# the module links, its postinst enables the module through
# modules-enabled, and, unpacked into a scratch root, it passes nginx -t
# (-p that root) and serves the built-in mock through the example site.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;

use HgTest;

my $t = HgTest->new;

plan(skip_all => 'module not built') unless $t->has_module;

for my $tool (qw(dpkg-buildpackage dh lintian git)) {
    plan(skip_all => "$tool is not installed (make deps)")
        unless system("command -v $tool >/dev/null 2>&1") == 0;
}

my $dir = $t->dir;
my $src = $t->root;

# a command's exit code and output, killed after $limit seconds
sub run_cmd {
    my ($limit, @cmd) = @_;
    my $q = join ' ', map { quotemeta } @cmd;
    my $out = `timeout $limit $q 2>&1`;
    return ($? >> 8, $out // '');
}

sub slurp { $t->read_file($_[0]) // '' }

# ------------------------------------------------------------ make install

my $staged = "$dir/staged";
my ($rc, $out) = run_cmd(300, 'make', '-s', '--no-print-directory', '-C',
                         $src, 'install', "DESTDIR=$staged",
                         'NGX_MODULES_DIR=/opt/nginx/modules');
is($rc, 0, 'install - make install DESTDIR') or diag($out);
ok(-f "$staged/opt/nginx/modules/ngx_http_helicone_module.so",
   'install - the module in NGX_MODULES_DIR');
ok(-f "$staged/etc/nginx/helicone_attempt.conf",
   'install - helicone_attempt.conf in /etc/nginx');
ok(-f "$staged/etc/nginx/sites-available/helicone",
   'install - the example site in sites-available');
is(slurp("$staged/usr/share/nginx/modules-available/mod-http-helicone.conf"),
   "load_module /opt/nginx/modules/ngx_http_helicone_module.so;\n",
   'install - the snippet names a moved module by its full path');
ok(!-e "$staged/etc/nginx/modules-enabled",
   'install - nothing enabled behind the administrator\'s back');

# ---------------------------------------------------------------- make deb

($rc, $out) = run_cmd(900, 'make', '-s', '--no-print-directory', '-C', $src,
                      'deb');
is($rc, 0, 'deb - make deb built it, lintian without errors')
    or diag($out);

my ($deb) = $out =~ m{^(\S+/libnginx-mod-http-helicone_[^/\s]+_\w+\.deb)$}m;
$deb = "$src/$deb" if $deb && $deb !~ m{^/};

ok($deb && -f $deb, 'deb - the package file') or BAIL_OUT("no package");
unlike($out, qr/^E: /m, 'deb - no lintian error');

(my $abi = slurp('/usr/share/nginx/src/debian/libnginx-mod.abisubstvars'))
    =~ s/.*^nginx:abi=(\S+).*/$1/ms;

my $depends = `dpkg-deb -f '$deb' Depends`;
like($depends, qr/(?:^|, )\Q$abi\E(?:,|$)/m,
     "deb - depends on the nginx ABI ($abi)");
like($depends, qr/libcjson1/, 'deb - depends on cJSON');
like($depends, qr/libhiredis/, 'deb - depends on hiredis');
like($depends, qr/librdkafka1/, 'deb - depends on librdkafka');
like($depends, qr/libssl3/, 'deb - depends on OpenSSL');

my $files = `dpkg-deb -c '$deb'`;
like($files, qr{ \./usr/lib/nginx/modules/ngx_http_helicone_module\.so$}m,
     'deb - the module in nginx\'s modules directory');
like($files, qr{ \./usr/share/nginx/modules-available/mod-http-helicone\.conf$}m,
     'deb - the load_module snippet in modules-available');
like($files, qr{ \./etc/nginx/helicone_attempt\.conf$}m,
     'deb - helicone_attempt.conf');
like($files, qr{ \./etc/nginx/sites-available/helicone$}m,
     'deb - the example site');
like($files, qr{^-rw-r----- \S+ +0 .* \./etc/nginx/helicone-keys$}m,
     'deb - an empty keys file, not world-readable');

my $root = "$dir/root";
my $ctl = "$dir/control";
is(system('dpkg-deb', '-x', $deb, $root), 0, 'deb - unpacked');
is(system('dpkg-deb', '-e', $deb, $ctl), 0, 'deb - control unpacked');

like(slurp("$ctl/conffiles"), qr{^/etc/nginx/helicone_attempt\.conf$}m,
     'deb - helicone_attempt.conf is a conffile');
is(slurp("$root/usr/share/nginx/modules-available/mod-http-helicone.conf"),
   "load_module modules/ngx_http_helicone_module.so;\n",
   'deb - the snippet, as Debian\'s modules have it');

# nginx-common's layout: modules-enabled, and modules/ under the prefix
mkdir "$root/etc/nginx/$_" for qw(modules-enabled sites-enabled);
symlink '../../lib/nginx/modules', "$root/usr/share/nginx/modules"
    or die "symlink: $!\n";

# the postinst as dpkg runs it on a first install, moved into the root
(my $postinst = slurp("$ctl/postinst"))
    =~ s{(/etc/nginx|/usr/share/nginx)}{$root$1}g;
$postinst =~ s/which dpkg-trigger/false/g;
$t->write_file('postinst', $postinst);
is(system('sh', "$dir/postinst", 'configure'), 0, 'postinst - ran');

my $link = "$root/etc/nginx/modules-enabled/50-mod-http-helicone.conf";
is(readlink($link),
   "$root/usr/share/nginx/modules-available/mod-http-helicone.conf",
   'postinst - linked the snippet into modules-enabled');

# the example site on free ports, its log in the test dir
my $gw = $t->port('gw');
my $mock = $t->port('mock');

my $site = slurp("$root/etc/nginx/sites-available/helicone");
$site =~ s/127\.0\.0\.1:8080\b/127.0.0.1:$gw/g;
$site =~ s/127\.0\.0\.1:8081\b/127.0.0.1:$mock/g;
$site =~ s{/etc/nginx/}{$root/etc/nginx/}g;
$site =~ s{/var/log/nginx/}{$dir/}g;
$t->write_file("$root/etc/nginx/sites-enabled/helicone", $site);

# Debian's nginx.conf, reduced: modules-enabled first, sites in http{}
$t->write_config("include $root/etc/nginx/modules-enabled/*.conf;\n"
                 . $t->conf_head(module => 0) . <<"EOF");
http {
    %%HTTP_HEAD%%
    include $root/etc/nginx/sites-enabled/*;
}
EOF

$t->set_prefix("$root/usr/share/nginx/");

my ($code, $nt) = $t->nginx_t;
is($code, 0, 'nginx -t - the unpacked package passes') or diag($nt);

# the ports are in the site: run() waits for the pid file, written
# once the master listens
$t->run;

my $r = $t->chat(port => $gw, json => {
    model => 'gpt-4o-mini',
    messages => [ { role => 'user', content => 'Hello' } ],
});
is($r->{status}, 200, 'served - status');
like($r->{body}, qr/built-in mock provider/, 'served - the mock answered');

my @ev = $t->wait_jsonl('helicone.jsonl', 1);
is(scalar @ev, 1, 'served - the log event in helicone_log\'s file');

$t->stop;
$t->check_no_alerts;

done_testing;
