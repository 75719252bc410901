def strip_ext(name):
    return name[:name.find(".")]


if __name__ == "__main__":
    print(strip_ext('archive.tar.gz'))
