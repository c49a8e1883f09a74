"""Image import: docker-archive and OCI image layouts into the runtime's ext4 image files.

  archive.py   read the archive: manifest, platform, config, layers, digests checked
  layers.py    apply layer tars to a staging tree, never writing outside it
  ext4.py      the staging tree into an ext4 file (mkfs.ext4 -d), no root needed
  config.py    the image's config saved next to the ext4 file, read back by `run`
  command.py   `demo-runtime image import FILE [-o IMAGE.img]`
"""
