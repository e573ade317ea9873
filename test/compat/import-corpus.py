#!/usr/bin/python3
# Copies the inventory part of the compatibility corpus out of Ansible's repositories (run once; the result is
# committed under test/fixtures/inventory-compat/). Usage:
#   import-corpus.py ANSIBLE_GIT_DIR ANSIBLE_DOCUMENTATION_GIT_DIR OUT_DIR
# Reads with `git show`, so the repositories may be bare.
import os
import re
import subprocess
import sys

ansible, docs, out = sys.argv[1:4]


def git(repo, *args):
    return subprocess.run(['git', '--git-dir', repo, *args], check=True, capture_output=True).stdout


def files(repo, prefix=''):
    return git(repo, 'ls-tree', '-r', '--name-only', 'HEAD', prefix).decode().splitlines()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


# Integration-test inventories of ansible/ansible: files named like inventories, minus playbooks and configs
# that only look like them (Ansible itself decides later which of the rest it can load).
NOT_INVENTORIES = {
    'ansible-config/files/invalid_plugins_config.ini', 'collections/check_populated_inventory.yml',
    'collections/inventory_test.yml', 'collections/invocation_tests.yml', 'dataloader/vars/invalid.json',
    'hash/test_inventory_hash.yml', 'old_style_cache_plugins/test_inventory_cache.yml', 'register/invalid.yml',
    'register/invalid_skipped.yml', 'ansible-vault/test_vaulted_inventory.yml', 'ansible-vault/test_vaulted_inventory_toml.yml',
    'old_style_cache_plugins/inventory_config', 'meta_tasks/inventory_refresh.yml',
}
NAME = re.compile(r'/(inventory[^/]*|hosts[^/]*|inv[^/]*\.(yml|yaml|ini|json|toml)|[^/]*\.inventory|[^/]*\.hosts|[^/]*inventory[^/]*\.(yml|yaml|ini|json|toml)|[^/]*sample[^/]*\.(yml|ini|toml)|complex\.ini|unicode\.yml)$')
all_files = files(ansible, 'test/integration/targets')
base = 'test/integration/targets/'
for path in all_files:
    rel = path[len(base):]
    if rel in NOT_INVENTORIES or not NAME.search(path) or re.search(r'\.(py|sh|j2)$|/(tasks|meta|defaults|handlers|templates)/', path):
        continue
    write(os.path.join(out, 'ansible', rel), git(ansible, 'show', 'HEAD:' + path))
    # group_vars/ and host_vars/ beside it are part of what the inventory means.
    d = os.path.dirname(path) + '/'
    for extra in all_files:
        if extra.startswith(d + 'group_vars/') or extra.startswith(d + 'host_vars/'):
            write(os.path.join(out, 'ansible', extra[len(base):]), git(ansible, 'show', 'HEAD:' + extra))

# Documentation examples of ansible/ansible-documentation: every ini/yaml/text code block of the inventory guide.
BLOCK = re.compile(r'^\.\. code-block:: (\w+)\s*\n((?:[ \t]*\n|[ \t]+.*\n)+)', re.M)
for page in ['docs/docsite/rst/inventory_guide/intro_inventory.rst', 'docs/docsite/rst/inventory_guide/intro_patterns.rst',
             'docs/docsite/rst/inventory_guide/connection_details.rst', 'docs/docsite/rst/getting_started/get_started_inventory.rst']:
    text = git(docs, 'show', 'HEAD:' + page).decode()
    n = 0
    for m in BLOCK.finditer(text):
        lang, body = m.group(1), m.group(2)
        if lang not in ('ini', 'yaml', 'text'):
            continue
        lines = body.split('\n')
        indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
        body = '\n'.join(l[indent:] for l in lines).strip('\n') + '\n'
        n += 1
        line = text[:m.start()].count('\n') + 1
        ext = '.yaml' if lang == 'yaml' else '.ini'
        name = '%s-%02d-line%d%s' % (os.path.basename(page)[:-4], n, line, ext)
        write(os.path.join(out, 'docs', name), body.encode())
for path in files(docs, 'docs/docsite/rst/getting_started/yaml'):
    if os.path.basename(path).startswith('inventory'):
        write(os.path.join(out, 'docs', os.path.basename(path)), git(docs, 'show', 'HEAD:' + path))
